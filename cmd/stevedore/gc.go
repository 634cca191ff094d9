package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/store"
)

func newGCCmd() *cobra.Command {
	var (
		dataDir string
		opts    store.GCOptions
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
expiry. Run it with the server stopped; while one runs, the grace period keeps
the blobs of pushes in progress.

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
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
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
	f.DurationVar(&opts.Grace, "grace", store.DefaultGCGrace, "keep unreferenced content changed more recently than this")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	storage.register(cmd, false)
	return cmd
}

func printGCReport(w io.Writer, rep store.GCReport) {
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
