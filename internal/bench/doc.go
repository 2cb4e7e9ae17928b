// Package bench measures boxauthz's checks on a SpiceDB a user chooses, with
// the data set of internal/bench/synth: it loads the data set, then asks the
// same never-repeated questions, by depth band and concurrency, three ways:
//
//   - boxauthz: chain checks (checker.WithTree), an item and its whole
//     ancestor chain in one CheckBulkPermissions, as `boxauthz serve` asks;
//   - raw: SpiceDB's CheckPermission of the real schema's recursive
//     permission, at the same consistency, on the same SpiceDB;
//   - naive: the naive schema (synth.NaiveSchema) on a SpiceDB of its own
//     holding the same data, when one is given.
//
// The three are interleaved in rounds on the same questions, so a change in
// the machine's load hits them alike. Run returns a Report, which prints as
// a table (Text) or as JSON.
package bench
