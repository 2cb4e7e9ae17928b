// Package store is a durable SpiceDB datastore on bbolt, indexed by resource and by subject, with MVCC revisions.
package store
