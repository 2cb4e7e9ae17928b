// Package oauth is boxauthz's Box-style OAuth: applications and their
// client secrets, tokens (issue, refresh, revoke, downscope by exchange),
// scopes, the revocation watch, and the authorize decision of docs/model.md §7,
// which combines a token's scopes, As-User and resource with graph checks
// (package checker).
package oauth
