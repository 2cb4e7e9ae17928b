package integration

// Failures of Run, the clients and the loaders are plain errors saying what
// was being done, wrapping testcontainers' or gRPC's: tests report them and
// stop, and a gRPC status stays reachable through status.Code and errors.As.
