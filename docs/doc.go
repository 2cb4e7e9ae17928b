// Package docs ships the machine-readable contract: the OpenAPI description of
// the HTTP API and the JSON Schema of one content change event.
package docs
