// Command shapebench measures boxauthz's candidate SpiceDB schema shapes
// (naive, separated, ancestors) on the in-memory datastore and on
// PostgreSQL, proves they answer alike, and prints markdown tables.
//
//	go run ./internal/tools/shapebench/cmd/shapebench                 # memory only
//	go run ./internal/tools/shapebench/cmd/shapebench -pg "$(scripts/pg-local start)"
//
// See docs/schema.md for the figures of a run and how to read them.
package main
