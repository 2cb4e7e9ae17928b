// Package validation runs validation files in zed's format (schema,
// relationships, assertions, expected relations) against SpiceDB's own
// development engine, as `zed validate` does, defaulting to boxauthz's
// schema.
//
// It is apart from package schema because the development engine is an
// in-memory SpiceDB, which links far more than a client needs.
package validation
