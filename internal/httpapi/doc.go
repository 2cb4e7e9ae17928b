// Package httpapi serves boxauthz's HTTP API (API.md): health, events in,
// graph checks and lookups out. It only translates between HTTP and the sync
// and checker packages; the decisions are theirs.
package httpapi
