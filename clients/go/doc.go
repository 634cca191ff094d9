// Package stevedoreclient is a small Go client for the stevedore.v1 gRPC API
// (proto/stevedore/v1): Dial, the read RPCs as plain methods, blob streams as
// a verified io.Reader that survives a dropped connection, and failures as
// the engine's error classes, so that
//
//	errors.Is(err, errdef.ErrNotFound)
//
// works against a remote server as it does against the engine in-process.
// The generated stubs (package gen/stevedore/v1) stay reachable through
// Client.Images for anything this package does not wrap.
package stevedoreclient
