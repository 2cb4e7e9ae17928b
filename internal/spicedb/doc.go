// Package spicedb is boxauthz's client of SpiceDB: one Client for an
// external SpiceDB over gRPC or the embedded one (package embedded), and the
// read and settle helpers every part uses. It links no SpiceDB server code.
package spicedb
