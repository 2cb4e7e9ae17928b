// Package reference is docs/model.md and docs/events.md implemented directly in plain
// Go over in-memory objects, for differential tests: it shares no code with
// schema or sync and reads events with its own decoder. Where it and the
// SpiceDB pipeline disagree, one of them is wrong.
//
// # The differential test
//
// TestDifferential generates seeded streams (internal/testkit/eventgen,
// with every valid event kind and about 8% bad events mixed in) and replays
// each through sync.Applier into a real embedded SpiceDB and through Model.
// Events the model accepts go to sync in batches; an event it refuses goes
// alone, or every other time at the end of the batch of good events before
// it, and sync must refuse it too (a batch whole, naming that event), while
// the rest of the stream still applies. Redelivered events must be skipped,
// exactly those: a refused batch that left its event ids behind would show.
// Afterwards both must answer alike: checks of every action on every item
// for a rotating sample of users, with and without shared links,
// checker.LookupItems (every page, some in small pages) and
// checker.LookupUsers. The answers must also be mixed: a stream whose
// checks are nearly all "no" tests little, and fails.
//
// A mismatch is shrunk by delta debugging (Shrink): chunks of events, then
// single events, are dropped while the same mismatch still shows on a fresh
// in-memory SpiceDB. The result is printed, and written to
// $TMPDIR/boxauthz-differential-seed<N>_test.go.txt, as a Go test to paste
// next to the code at fault; it expects the model's answer.
//
// # Budget
//
// CI runs a fixed budget: seeds 1 to 3, 600 events each, which takes about
// a minute on a loaded two-core machine. For more:
//
//	go test ./internal/testkit/reference -run TestDifferential -differential.seeds=30 -differential.events=2000
//	BOXAUTHZ_DIFF_BUDGET=10 go test ./internal/testkit/reference   # ten times the default seeds
//
// -differential.seed=N starts at seed N (to rerun one seed from a report),
// -differential.invalid=P sets the percent of bad events, and
// -differential.shrink=false reports mismatches without shrinking them.
package reference
