// Package upgrade compares the schema a SpiceDB holds with boxauthz's and
// brings it up to date: it tells an absent, current or compatible (extended)
// schema from an incompatible one, and writes ours only where none is held.
//
// It is apart from package schema because the comparison runs SpiceDB's own
// schema compiler and differ, which link far more than a client needs.
package upgrade
