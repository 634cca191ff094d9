// Package engine is stevedore's core as a Go library: it opens images wherever
// they live (registries, OCI layouts) through the Transport seam and reads them
// as raw, verified streams. Importing it starts no goroutine and opens no port;
// the CLI calls it directly and service/ puts it behind gRPC.
package engine
