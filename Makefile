# Entry points; the scripts hold the logic so CI and humans run the same thing.
.PHONY: test quick gen build release lint bench tools

# The whole suite: tools, generated-code check, gofmt, vet, unit, integration.
test:
	bash scripts/test.sh

# The fast slice: the same stages with slow tests skipped (go test -short).
quick:
	QUICK=1 bash scripts/test.sh

# Regenerate gen/ and service/openapi/ from proto/ (buf format, lint, generate).
gen:
	bash scripts/gen.sh

build:
	go build -o bin/stevedore ./cmd/stevedore

# Everything a release publishes, into dist/ (pushes nothing): static
# binaries for linux and darwin on amd64 and arm64, SHA256SUMS, CycloneDX
# SBOMs, the client packages, and stevedore's own image built, signed and
# SBOM-attached by stevedore as an OCI layout. VERSION=v1.2.3 overrides the
# version; see scripts/release.sh.
release:
	bash scripts/release.sh

# Static checks only: gofmt, go vet, buf lint.
lint:
	@out="$$(git ls-files -z --cached --others --exclude-standard -- '*.go' ':!:gen/**' ':!:third_party/**' | xargs -0 -r gofmt -l)"; \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	"$$(bash scripts/install-buf.sh)" lint

# Benchmarks: go test -bench suites, then every peer comparison in
# integration/ (1 GiB by default), then a ratio per path and peer; `make test`
# runs only a 64 MiB smoke of them. Results: docs/BENCHMARKS.md.
bench:
	bash scripts/bench.sh

# Peer tools used as oracles, into ~/.cache/stevedore/bin.
tools:
	bash scripts/install-tools.sh
