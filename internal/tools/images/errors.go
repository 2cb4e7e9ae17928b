package images

// Failures here are plain errors saying which command failed and with what
// output (docker, go install, debootstrap): the only callers are tests and
// cmd/local-images, which report them and stop.
