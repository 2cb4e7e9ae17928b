// Package examples holds sample data: a small enterprise as content change
// events, used by `boxauthz demo`, the README and tests.
package examples
