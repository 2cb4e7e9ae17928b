// Package schema holds boxauthz's SpiceDB schema: Box's content permission
// model (users, enterprises, groups, folders, files, collaborations, shared
// links, trash and waterfall inheritance) as SpiceDB definitions.
//
// It writes the schema to a SpiceDB and names the objects, roles and actions
// the rest of boxauthz uses, so that one word means one thing across sync,
// checker and the HTTP API. Comparing a stored schema with ours is package
// schema/upgrade's, running validation files schema/validation's: both link
// SpiceDB's schema code, which this package leaves out.
package schema
