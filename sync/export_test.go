package sync

// Test hooks: the lazy store and its bulk reads on a small model.
var (
	WithPreloadLimit = withPreloadLimit
	WithBulkMin      = withBulkMin
)
