package schema

// The schema's own failures (an unknown role or action, an id Box would
// not issue) are plain errors naming the value at fault: callers report
// them to whoever sent it and never branch on them. A stored schema
// boxauthz cannot run against is upgrade.IncompatibleError.
