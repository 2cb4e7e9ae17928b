package docs

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.yaml
var openAPI []byte

//go:embed events.schema.json
var eventsSchema []byte

// OpenAPIPath and EventsSchemaPath are the files' names beside each other:
// the OpenAPI description refers to the event schema by this name.
const (
	OpenAPIPath      = "openapi.yaml"
	EventsSchemaPath = "events.schema.json"
)

// OpenAPI returns the OpenAPI 3.1 description of `boxauthz serve`'s HTTP
// API (YAML), a copy the caller may change.
func OpenAPI() []byte { return bytes.Clone(openAPI) }

// EventsSchema returns the JSON Schema (draft 2020-12) of one content change
// event, a copy the caller may change.
func EventsSchema() []byte { return bytes.Clone(eventsSchema) }
