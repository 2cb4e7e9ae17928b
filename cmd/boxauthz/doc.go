// Command boxauthz is Box's permission model as a service on SpiceDB: it
// mirrors content change events into relationships and answers "can this
// user do this action on this item".
package main
