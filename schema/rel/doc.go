// Package rel is boxauthz's one toolkit for SpiceDB relationships: object
// and subject references, relationships, updates, filters and their string
// forms. References built from Box ids always encode them
// (schema.EncodeID); the Raw forms take an id as SpiceDB already holds it,
// for ids boxauthz makes itself (token hashes, composite keys).
package rel
