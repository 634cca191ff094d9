package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/policy"
)

func newMirrorCmd() *cobra.Command {
	var ef engineFlags
	var opts mirror.Options
	var asJSON bool
	var reportPath, verifyPolicy string
	var blobConcurrency, perRegistry int
	cmd := &cobra.Command{
		Use:   "mirror CONFIG.yaml",
		Short: "Keep registry repositories in step with others: copy new and moved tags, skip the rest",
		Long: `Mirror the repositories and images CONFIG.yaml lists into a destination
registry.

For each source repository the tags are listed and filtered (allow/deny
regular expressions, a semver range, the newest N by semver or lexical order);
for each image one HEAD at the source and one at the destination decide: a
destination tag already naming the source's digest is skipped, a new or moved
one is copied (digests kept, every byte verified, content the destination has
or that another image of the run already sent is not sent again). A failing
image does not stop the others.

One line per image goes to stderr. --json writes the report (per image: source,
source digest, destination, action copied/skipped/failed/would-copy, bytes,
blobs, error code) to stdout; --report writes it to a file. --dry-run resolves
both sides and reports what would be copied without writing anything.

--verify-policy FILE (or the config's verifyPolicy, relative to the config
file) checks every image against a trust policy (which public keys must have
signed the images of which repositories; see docs/EXAMPLES.md) before anything
of it is written: an image it refuses fails with code DENIED and the others go
on; one it accepts is copied by the verified digest with its signatures and
other referrers.

Exit status: 0 when no image failed, 1 when any did, 2 on a usage error
(including a config that does not validate).

A config (unknown keys are errors):

  concurrency: 8           # images at once (default 8)
  blobConcurrency: 4       # blobs per image at once (default 4)
  perRegistry: 4           # blob transfers per registry host, all images (default 4)
  referrers: false         # also copy signatures, SBOMs... of each image
  platforms: []            # [os/arch[/variant]]: one picks that manifest of an
                           # index; several push an index of just those (new digest)
  verifyPolicy: policy.yaml  # trust policy every image must satisfy
  destination:
    registry: registry.example.com
    prefix: mirror         # registry.example.com/mirror/<source repo>
    stripPrefix: library   # ... minus this leading path
  sources:
    - repository: docker://docker.io/library/alpine
      tags:
        allow: ['^3\.\d+$']  # keep tags matching any (RE2, unanchored)
        deny: ['^3\.1$']     # drop tags matching any
        semver: '>= 3.18'    # keep versions in this range
        newest: 3            # then keep the 3 highest...
        order: semver        # ...by semver (default) or lexical
    - repository: ghcr.io/org/app
      referrers: true        # per-source overrides: referrers, platforms,
      platforms: [linux/amd64]
      destination: {repository: apps/app}   # and destination fields
    - images:
        - docker://ghcr.io/org/tool:v1
        - ghcr.io/org/tool@sha256:…        # pushed untagged`,
		Example: `  stevedore mirror mirror.yaml
  stevedore mirror --dry-run mirror.yaml
  stevedore mirror --json --concurrency 16 --blob-concurrency 8 mirror.yaml > report.json
  stevedore mirror --report report.json mirror.yaml
  stevedore mirror --verify-policy policy.yaml mirror.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, log := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if opts.Concurrency < 0 || blobConcurrency < 0 || perRegistry < 0 {
				return usageError{errors.New("--concurrency, --blob-concurrency and --per-registry must be >= 0")}
			}
			cfg, err := mirror.LoadConfig(args[0])
			if err != nil {
				if errors.Is(err, errdef.ErrInvalid) {
					return usageError{err}
				}
				return err
			}
			if blobConcurrency > 0 {
				cfg.BlobConcurrency = blobConcurrency
			}
			if perRegistry > 0 {
				cfg.PerRegistry = perRegistry
			}
			if verifyPolicy == "" && cfg.VerifyPolicy != "" {
				verifyPolicy = cfg.VerifyPolicy
				if !filepath.IsAbs(verifyPolicy) {
					verifyPolicy = filepath.Join(filepath.Dir(args[0]), verifyPolicy)
				}
			}
			if verifyPolicy != "" {
				if opts.Policy, err = policy.Load(verifyPolicy, policyVerifiers); err != nil {
					if errors.Is(err, errdef.ErrInvalid) {
						return usageError{err}
					}
					return err
				}
			}
			opts.Progress = func(im mirror.ImageReport) { printImage(log, im) }
			rep, err := mirror.Run(cmd.Context(), ef.engine(), cfg, opts)
			if err != nil {
				return err
			}
			s := rep.Summary
			verb := "copied"
			n := s.Copied
			if rep.DryRun {
				verb, n = "would copy", s.WouldCopy
			}
			fmt.Fprintf(log, "%d images: %s %d, skipped %d, failed %d; %d blobs (%s) sent, %d skipped; %.2fs\n",
				s.Images, verb, n, s.Skipped, s.Failed, s.BlobsCopied, humanBytes(s.Bytes), s.BlobsSkipped, rep.Seconds)
			if reportPath != "" {
				if err := writeReport(reportPath, rep); err != nil {
					return err
				}
			}
			if asJSON {
				if err := printJSON(out, rep); err != nil {
					return err
				}
			}
			if rep.Failed() {
				return fmt.Errorf("%d of %d images failed", s.Failed, s.Images)
			}
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "report what would be copied without writing anything")
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the report as JSON on stdout")
	cmd.Flags().StringVar(&reportPath, "report", "", "write the report as JSON to this file")
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", 0, "images to mirror at once (default: the config's concurrency, else 8)")
	cmd.Flags().IntVar(&blobConcurrency, "blob-concurrency", 0, "blobs of each image to transfer at once, as in copy (default: the config's blobConcurrency, else 4)")
	cmd.Flags().IntVar(&perRegistry, "per-registry", 0, "blob transfers in flight per registry host, all images together (default: the config's perRegistry, else 4)")
	cmd.Flags().StringVar(&verifyPolicy, "verify-policy", "", "trust policy file every image must satisfy (overrides the config's verifyPolicy)")
	return cmd
}

// printImage writes one image's outcome as a line.
func printImage(w io.Writer, im mirror.ImageReport) {
	switch im.Action {
	case mirror.ActionFailed:
		fmt.Fprintf(w, "failed     %s: %s %s\n", im.Source, im.Error.Code, im.Error.Message)
	case mirror.ActionSkipped:
		fmt.Fprintf(w, "skipped    %s %s (up to date)\n", im.Source, im.SourceDigest)
	default:
		fmt.Fprintf(w, "%-10s %s -> %s %s (%s; %d blobs, %s)\n", im.Action, im.Source, im.Destination, im.SourceDigest, im.Reason, im.BlobsCopied, humanBytes(im.Bytes))
	}
	if im.Note != "" {
		fmt.Fprintf(w, "           note: %s\n", im.Note)
	}
}

// writeReport writes rep to path, replacing it whole or not at all.
func writeReport(path string, rep *mirror.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
