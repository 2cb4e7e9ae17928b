// Package checker answers "can this user do this action on this item":
// graph checks against boxauthz's SpiceDB schema, lookups in both
// directions, and (with tokens) Box-style authorization decisions.
//
// Every check supplies the caveat context the schema needs: the current time,
// so that collaboration expiry and shared-link unsharing are exact to the
// instant whatever the datastore, and the shared link the request presents.
package checker
