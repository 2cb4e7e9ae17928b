// Package eventgen generates random streams of content change events
// (docs/events.md) from a seed, for crash, differential and load tests. It tracks
// the state the events imply so that every event it means to be valid is
// valid where it stands in the stream: parents exist, moves make no cycles,
// one collaboration per item and grantee, nothing refers to a deleted object.
//
// By default the streams are the plain ones the crash and load tests were
// written against, and the same seed always gives the same bytes. Options
// widen them for differential tests: WithAllKinds adds the valid event kinds
// a plain stream lacks (settings and owner changes, restricted folders,
// users and groups changing enterprise, deleted and recreated, redelivered
// events), and WithInvalid mixes in events docs/events.md calls bad input, each
// labelled with the rule it breaks.
package eventgen
