package source

import "errors"

// Sentinels of the Box webhook source.
var (
	// ErrWebhookSignature is returned for a delivery that is not Box's.
	ErrWebhookSignature = errors.New("webhook signature does not verify")
	// ErrIgnoredTrigger marks a webhook whose trigger changes no permission
	// (FILE.PREVIEWED, COMMENT.CREATED ...).
	ErrIgnoredTrigger = errors.New("trigger changes no permission")
)

// Sentinels of the file and outbox sources.
var (
	// ErrNoPath is NewFileSource's error for an empty path.
	ErrNoPath = errors.New("file source: no path (use - for standard input)")
	// ErrNoDSN is NewOutboxSource's error for an empty DSN.
	ErrNoDSN = errors.New("outbox source: no DSN")
)
