// Package httpapi serves boxauthz's HTTP API (docs/api.md): health, events and
// Box webhooks in; graph checks, lookups, tokens and authorize decisions
// out. It only translates between HTTP and the sync and checker packages;
// the decisions are theirs.
package httpapi
