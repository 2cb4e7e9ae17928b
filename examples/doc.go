// Package examples holds sample data: a small enterprise as content change
// events, used by `boxauthz demo`, the README and tests, and the tests of
// its permissions that `boxauthz test` runs (acme_test.yaml).
package examples
