// Package modeltest runs permission-model test files, written in Box's
// words (users, items, actions, events), on an in-memory SpiceDB.
package modeltest
