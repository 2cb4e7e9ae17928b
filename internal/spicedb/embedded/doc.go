// Package embedded runs SpiceDB inside this process, in memory or on
// PostgreSQL, for boxauthz serve's default and for tests; it is the only
// package that links SpiceDB's server.
package embedded
