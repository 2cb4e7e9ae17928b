// Package schema holds boxauthz's SpiceDB schema: Box's content permission
// model (users, enterprises, groups, folders, files, collaborations, shared
// links, trash and waterfall inheritance) as SpiceDB definitions.
//
// It writes the schema to a SpiceDB, tells whether a SpiceDB already holds a
// compatible one, runs zed-compatible validation files against real SpiceDB
// code, and names the objects, roles and actions the rest of boxauthz uses,
// so that one word means one thing across sync, checker and the HTTP API.
package schema
