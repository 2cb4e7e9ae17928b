// Package tree keeps every item's place in the folder tree, read from
// SpiceDB's placement relationships and followed through its Watch, so that
// a check can ask an item and its whole ancestor chain in one request.
package tree
