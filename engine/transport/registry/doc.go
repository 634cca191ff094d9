// Package registry is stevedore's client for OCI registries: it reads and
// writes one repository over the OCI distribution-spec v1.1.1 HTTP API
// (https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md),
// authenticating with Basic or the Docker token flow
// (https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md)
// from docker and containers credential files.
//
// A *Repository is a transport.Source and transport.Target; it is safe for
// concurrent use and holds no goroutines or open connections beyond the
// http.Client's idle pool.
package registry
