// Package checker answers "can this user do this action on this item":
// graph checks against boxauthz's SpiceDB schema, explanations, and lookups
// in both directions. Tokens and the authorize decision are package
// checker/oauth, which asks its questions through CheckItems.
//
// Every check supplies the caveat context the schema needs: the current time,
// so that collaboration expiry and shared-link unsharing are exact to the
// instant whatever the datastore, and the shared link the request presents.
package checker
