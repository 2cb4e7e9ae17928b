package images

// Failures here are plain errors saying which step failed and with what
// output (a Docker API call and the daemon's message, go install,
// debootstrap): the only callers are tests and cmd/local-images, which
// report them and stop.
