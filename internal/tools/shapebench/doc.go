// Package shapebench chooses the shape of boxauthz's SpiceDB schema from
// measurements, and proves the chosen shape answers like a naive one.
//
// Three shapes of the same model (docs/model.md) are compared:
//
//   - naive: each capability nested in the next more capable one, each
//     walking the parent chain (`n_preview = n_download + previewer + ... +
//     parent->n_preview`);
//   - separated: the real schema (schema/schema.zed): flat holder sets, each
//     the union of its role relations plus the same set on the parent;
//   - ancestors: derived from the real schema text (AncestorsSchema): every
//     item also carries `ancestor` relationships to all its ancestor
//     folders, and the waterfall is one hop (`X = X_direct +
//     ancestor->X_direct`).
//
// The data set is internal/bench/synth's (synth.Generate: users,
// enterprises, groups, folder trees up to 30 deep, files, collaborations of
// every role at every depth, group and expiring collaborations, trash,
// shared links), the one `boxauthz bench` measures too.
// Run loads it into boxauthz's embedded SpiceDB (internal/spicedb) on the
// in-memory datastore and on PostgreSQL, once per shape, measures checks that
// are never repeated, with SpiceDB's dispatch caches off (cold) and on, by
// depth and concurrency, and compares every shape's answers with each other
// and with a Go reading of docs/model.md (synth.Dataset.Expect).
//
// TestShapesEquivalent is the fast CI proof; cmd/shapebench runs the
// benchmark and prints markdown tables (docs/schema.md, section 11).
package shapebench
