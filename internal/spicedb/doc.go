// Package spicedb connects boxauthz to SpiceDB: either a SpiceDB server running
// inside this process on its in-memory datastore (the default), or an
// external SpiceDB reached over gRPC. Both are used through the same Client.
package spicedb
