package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

func newGCCmd() *cobra.Command {
	var (
		dataDir string
		opts    served.GCOptions
		asJSON  bool
		storage storageFlags
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove unreferenced manifests and blobs from a registry data directory",
		Long: `GC marks, in every repository of the data directory, what a tag, an untagged
root or a referrer reaches (manifests and indexes are walked to the bottom), and
removes the rest that is older than the grace period; then it frees the shared
blobs no repository holds any more. Upload sessions are left to the server's
expiry. It may run while a server uses the data directory (serve --gc-interval
runs the same collection inside it): the grace period keeps the blobs of pushes
in progress, and a push touches the older blobs its manifest references, under
the repository's lock, before checking them.

With --storage s3 it collects the bucket that serve replicas share, and may run
while they serve: it holds a lease object (taken by conditional write) so two
collectors never sweep at once, and the grace period keeps what pushes on other
replicas are writing.`,
		Example: `  stevedore gc --data /var/lib/stevedore --dry-run
  stevedore gc --data /var/lib/stevedore --grace 24h --json
  stevedore gc --storage s3 --s3-endpoint http://s3.internal:9000 --s3-bucket registry`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Grace <= 0 {
				return usageError{fmt.Errorf("--grace must be positive, got %v", opts.Grace)}
			}
			if storage.kind == "" || storage.kind == "fs" {
				// OpenRoot would create a missing directory; a typo must
				// not look like an empty registry.
				if _, err := os.Stat(dataDir); errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("data directory %s: %w", dataDir, errdef.ErrNotFound)
				} else if err != nil {
					return err
				}
			}
			// The collector's lease is itself a conditional write: probe,
			// so a server that ignores them cannot let two sweeps overlap.
			root, err := storage.open(cmd.Context(), dataDir, true)
			if err != nil {
				return err
			}
			rep, err := root.GC(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				printGCReport(cmd.OutOrStdout(), rep)
			}
			if len(rep.Skipped) > 0 {
				return fmt.Errorf("%d repositories skipped (their manifests could not be read), the rest collected", len(rep.Skipped))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", envOr("STEVEDORE_DATA", "./stevedore-data"), "data directory (env STEVEDORE_DATA)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "report what would be removed, remove nothing")
	f.DurationVar(&opts.Grace, "grace", served.DefaultGCGrace, "keep unreferenced content changed more recently than this")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	storage.register(cmd, false)
	return cmd
}

func printGCReport(w io.Writer, rep served.GCReport) {
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(w, "repositories: %d, reachable: %d\n", rep.Repositories, rep.Reachable)
	fmt.Fprintf(w, "%s %d unreferenced files from repositories (%d bytes)\n", verb, rep.Removed, rep.RemovedBytes)
	fmt.Fprintf(w, "%s %d shared blobs no repository holds (%d bytes freed)\n", verb, rep.PoolRemoved, rep.FreedBytes)
	if rep.TempRemoved > 0 {
		fmt.Fprintf(w, "%s %d leftover temp files\n", verb, rep.TempRemoved)
	}
	if rep.Young > 0 {
		fmt.Fprintf(w, "kept %d unreferenced files younger than the grace period\n", rep.Young)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped repository %s: %s\n", s.Repo, s.Error)
	}
}

// collectGarbage runs the collection of stevedore gc on b every interval
// until ctx is done (serve --gc-interval). Pushes go on meanwhile: the
// collector holds each repository's index lock while it sweeps it, and the
// registry touches the blobs a push references before checking them, which
// restarts their grace period (served.Toucher). On S3 a lease held by another
// replica's collector skips the round.
func collectGarbage(ctx context.Context, b served.Collector, interval, grace time.Duration, m *registryhttp.Metrics, log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rep, err := b.GC(ctx, served.GCOptions{Grace: grace})
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errdef.ErrUnavailable):
			log.Info("garbage collection skipped", zap.Error(err))
			continue
		case err == nil && len(rep.Skipped) > 0:
			err = fmt.Errorf("%d repositories skipped (first: %s: %s)", len(rep.Skipped), rep.Skipped[0].Repo, rep.Skipped[0].Error)
		}
		m.GCRun(err)
		if err != nil {
			log.Warn("garbage collection", zap.Error(err), zap.Duration("duration", time.Since(start)))
			continue
		}
		log.Info("garbage collection",
			zap.Int("repositories", rep.Repositories), zap.Int("removed", rep.Removed),
			zap.Int("poolRemoved", rep.PoolRemoved), zap.Int64("freedBytes", rep.FreedBytes),
			zap.Int("young", rep.Young), zap.Duration("duration", time.Since(start)))
	}
}
