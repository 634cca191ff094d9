package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// The knobs every peer benchmark reads, and the line each one leaves for
// scripts/bench.sh's ratio summary. STEVEDORE_BENCH_MIB shrinks every
// benchmark's data (the CI smoke in scripts/test.sh runs them at 64 MiB),
// STEVEDORE_BENCH_RUNS sets how many timed runs each takes.

// benchMiB is how many bytes a benchmark moves: STEVEDORE_BENCH_MIB, or
// defMiB when unset. A benchmark with its own size variable reads that
// first and falls back to this.
func benchMiB(defMiB int) int64 {
	return int64(benchEnvInt("STEVEDORE_BENCH_MIB", defMiB)) << 20
}

// benchRunCount is STEVEDORE_BENCH_RUNS, or def when unset.
func benchRunCount(def int) int {
	return benchEnvInt("STEVEDORE_BENCH_RUNS", def)
}

// benchEnvInt reads a positive integer from the environment, def when unset.
func benchEnvInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchRatio logs stevedore's speed-up over a peer on one path (>1:
// stevedore is faster; a time ratio is the peer's over ours, a throughput
// ratio ours over the peer's) with the load average, as one line that
// scripts/bench.sh collects into its summary:
//
//	RATIO path="copy, 64 MiB image, distribution → distribution" peer="crane copy" ratio=1.12 load="1.90 1.75 1.60"
func benchRatio(t testing.TB, path, peer string, ratio float64) {
	t.Helper()
	clean := func(s string) string { return strings.ReplaceAll(s, `"`, "'") }
	t.Logf("RATIO path=%q peer=%q ratio=%.2f load=%q", clean(path), clean(peer), ratio, benchLoad())
}
