// Package reconcile repairs drift between SpiceDB and a snapshot of every
// current object, translating the snapshot with the applier (package sync)
// in a private embedded SpiceDB. It is apart from the applier so that only
// its users link the SpiceDB server.
package reconcile
