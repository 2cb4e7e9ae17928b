package validation

// A file that cannot be run at all (not YAML, a schemaFile reference, a
// SpiceDB that does not start) is a plain error saying what was being
// done; failures of a file that runs are Problems of its Result, not
// errors.
