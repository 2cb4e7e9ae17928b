// Package inprocess runs boxauthz for a test inside the test's own process,
// without Docker: SpiceDB embedded on its in-memory datastore (the one
// boxauthz serve runs by default), boxauthz's schema written, a client, the
// sync applier and a checker, and optionally the HTTP API on a loopback
// httptest server. It starts in about a second.
//
//	h := inprocess.New(t) // closed when t ends
//	token, err := h.ApplyJSON(ctx, `{"id":"1","type":"user.created",...}`, ...)
//	a, err := h.Checker().Check(ctx, question, checker.Consistency{Token: token})
//
// Where a test must run the SpiceDB release boxauthz is tested against in
// its own container, or boxauthz's image, package integration does that
// with Docker. This package links SpiceDB's server (about 1,300 packages);
// package integration does not.
package inprocess
