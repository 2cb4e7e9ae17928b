// Package testenv gives tests a real SpiceDB holding boxauthz's schema: the
// embedded in-memory one, or one running in-process on PostgreSQL when
// BOXAUTHZ_PG_DSN names a server (scripts/pg-local starts one). Tests that
// need PostgreSQL skip without it, unless BOXAUTHZ_REQUIRE_PG=1 (set by
// scripts/test), which turns the skip into a failure.
package testenv
