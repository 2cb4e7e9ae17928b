// Package extension composes a user's own SpiceDB definitions with
// boxauthz's schema, refusing any that would redefine or break ours.
package extension
