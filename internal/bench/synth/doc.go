// Package synth generates a deterministic Box-like data set and the
// questions asked of it, for measuring boxauthz's checks on real SpiceDB.
//
// Generate builds users, enterprises, groups, folder trees up to 30 deep,
// files, collaborations of every role at every depth (group and expiring
// ones included), trash and shared links; equal Configs generate equal data
// sets, so two runs (or two machines) measure the same thing.
// EachRelationship emits the data set as the relationships boxauthz's sync
// would write, and an Asker draws checks that never repeat, by depth bucket,
// so that no answer comes from an identical earlier question.
//
// NaiveSchema is the model written the way first examples write
// Google-Drive-like schemas (each capability nested in the next, each
// walking the parent chain): it loads the same relationships, so a
// measurement can compare it with the real schema on the same data.
// Dataset.Expect answers a question in Go from the model, without SpiceDB.
package synth
