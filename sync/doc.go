// Package sync is the applier: it mirrors content change events (docs/events.md,
// package sync/event) into SpiceDB relationships.
//
// Every event states the whole state of one object, so applying it means
// making SpiceDB hold exactly what that state implies: the Applier reads what
// SpiceDB holds for the object, computes the difference, and writes it. A
// batch of events is validated as a whole before anything is written (bad
// input is never half-applied) and written in one SpiceDB transaction, with
// the ids of its events recorded in the same write so a redelivered event is
// skipped. Sources that feed it are in sync/source, drift repair in
// sync/reconcile.
package sync
