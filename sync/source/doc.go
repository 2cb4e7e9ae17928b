// Package source feeds the applier (package sync) from where events come
// from: a JSONL file or a stream (FileSource), a transactional outbox in
// PostgreSQL (OutboxSource) and Box webhooks (TranslateWebhook), setting bad
// events aside as dead letters.
package source
