// Package integration tests stevedore end to end, through every interface (CLI,
// gRPC, REST gateway, OCI registry port), against real peer tools used as
// oracles: the CNCF distribution registry serves what crane pushed, skopeo and
// oras write OCI image layouts (image-spec v1.1.1 image-layout.md,
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md),
// and whatever stevedore reports must match what they report.
//
// The package has only tests. TestMain builds cmd/stevedore once; every server
// runs as a real process on a free 127.0.0.1 port and is awaited by polling its
// readiness endpoint. Tests that move a lot of data are skipped with -short.
// See docs/TESTING.md for the tiers and the environment variables.
package integration
