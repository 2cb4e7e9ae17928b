// Package telemetry sets up boxauthz's OpenTelemetry tracing: off unless
// the standard OTLP endpoint variables name a collector, then exported
// over OTLP/gRPC, with W3C trace context propagated to SpiceDB.
package telemetry
