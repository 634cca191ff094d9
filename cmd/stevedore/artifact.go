package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/artifact"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newArtifactCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artifact",
		Short: "Push, pull, attach and discover OCI artifacts (files in a registry or layout)",
		Long: `Store arbitrary files as OCI artifacts (image-spec v1.1.1 §Guidelines for Artifact
Usage), in the form oras reads and writes: one layer per file titled with its
path, directories as gzipped tars oras unpacks, an empty config unless one is
given. REF is a registry reference or oci:DIR[:TAG].`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newArtifactPushCmd(), newArtifactPullCmd(), newArtifactAttachCmd(), newArtifactDiscoverCmd())
	return cmd
}

// artifactPushFlags are what push and attach share.
type artifactPushFlags struct {
	engineFlags
	artifactType string
	annotations  []string
	config       string
	asJSON       bool
}

func (f *artifactPushFlags) register(cmd *cobra.Command) {
	f.engineFlags.register(cmd)
	cmd.Flags().StringVar(&f.artifactType, "artifact-type", "", "the artifact's type (default "+artifact.DefaultArtifactType+" for push)")
	cmd.Flags().StringArrayVarP(&f.annotations, "annotation", "a", nil, "manifest annotation `KEY=VALUE` (repeatable)")
	cmd.Flags().StringVar(&f.config, "config", "", "config blob `FILE[:TYPE]` (default: the empty config {})")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the pushed manifest's descriptor as JSON")
}

// options turns the flags and FILE[:TYPE] arguments into engine input.
func (f *artifactPushFlags) options(args []string) ([]artifact.File, artifact.PushOptions, error) {
	opts := artifact.PushOptions{ArtifactType: f.artifactType}
	var err error
	if opts.Annotations, err = parseKV("annotation", f.annotations); err != nil {
		return nil, opts, err
	}
	if f.config != "" {
		p, mt := splitFileArg(f.config)
		opts.Config = &artifact.File{Path: p, MediaType: mt}
	}
	files := make([]artifact.File, len(args))
	for i, a := range args {
		p, mt := splitFileArg(a)
		files[i] = artifact.File{Path: p, MediaType: mt}
		// A path that leaves the working directory is titled by its base
		// name; a relative one keeps its directories, as oras does.
		if !filepath.IsLocal(p) {
			files[i].Name = filepath.Base(p)
		}
	}
	return files, opts, nil
}

// print writes the pushed manifest's digest, or its descriptor as JSON.
func (f *artifactPushFlags) print(w io.Writer, d any, dgst string) error {
	if f.asJSON {
		return printJSON(w, d)
	}
	_, err := fmt.Fprintln(w, dgst)
	return err
}

// splitFileArg splits oras's FILE[:TYPE]: the part after the last ':' is a
// media type only if it looks like one (type/subtype), so paths with colons
// still work.
func splitFileArg(s string) (path, mediaType string) {
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Contains(s[i+1:], "/") && !strings.ContainsAny(s[i+1:], `\`) {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func newArtifactPushCmd() *cobra.Command {
	var f artifactPushFlags
	cmd := &cobra.Command{
		Use:   "push REF FILE[:TYPE]...",
		Short: "Push files and directories as an OCI artifact",
		Long: `Push each FILE as a layer of one artifact, titled with its path (relative paths
keep their directories; others are titled by their base name), with media type
TYPE (default ` + artifact.DefaultFileMediaType + `). A directory is pushed as a
gzipped tar (` + artifact.DefaultDirMediaType + `) that oras pull and stevedore
artifact pull unpack. File modes are recorded; the manifest gets
org.opencontainers.image.created. The manifest digest is printed.`,
		Example: `  stevedore artifact push 127.0.0.1:5000/docs:v1 README.md:text/markdown site/
  stevedore artifact push --artifact-type application/vnd.example.model -a org.opencontainers.image.source=https://example.com oci:./layout:model weights.bin
  stevedore artifact push --config config.json:application/vnd.example.config+json 127.0.0.1:5000/tool:v1 bin/tool`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, opts, err := f.options(args[1:])
			if err != nil {
				return err
			}
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			d, err := f.engine().PushArtifact(cmd.Context(), r, files, opts)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), d, d.Digest.String())
		},
	}
	f.register(cmd)
	return cmd
}

func newArtifactAttachCmd() *cobra.Command {
	var f artifactPushFlags
	cmd := &cobra.Command{
		Use:   "attach REF --artifact-type TYPE FILE[:TYPE]...",
		Short: "Attach files to an image or artifact as a referrer (signature, SBOM, ...)",
		Long: `Push the files as an artifact whose subject is the manifest REF names, so that
it is listed among REF's referrers. A registry without the referrers API gets
the tag schema index (sha256-<hex>) instead, which oras and stevedore read;
in an OCI layout the artifact is recorded in index.json. The artifact is not
tagged; its digest is printed.`,
		Example: `  stevedore artifact attach --artifact-type application/spdx+json 127.0.0.1:5000/app:v1 sbom.json
  stevedore artifact attach --artifact-type application/vnd.example.sig -a created-by=ci oci:./layout:v1 sig.bin:application/octet-stream`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.artifactType == "" {
				return usageError{errors.New("attach needs --artifact-type")}
			}
			files, opts, err := f.options(args[1:])
			if err != nil {
				return err
			}
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			d, err := f.engine().AttachArtifact(cmd.Context(), r, files, opts)
			if err != nil {
				return err
			}
			return f.print(cmd.OutOrStdout(), d, d.Digest.String())
		},
	}
	f.register(cmd)
	return cmd
}

func newArtifactPullCmd() *cobra.Command {
	var ef engineFlags
	var out string
	var asJSON bool
	var opts artifact.PullOptions
	cmd := &cobra.Command{
		Use:   "pull REF -o DIR",
		Short: "Write an artifact's files into a directory",
		Long: `Write every titled layer of the artifact REF names under DIR (created if
missing): files to their titles, directory layers unpacked, modes restored
where recorded, every blob verified before it is renamed into place. A title,
tar entry or symlink that would reach outside DIR fails the pull; layers
without a title are skipped and reported on stderr. The paths written are
printed, one a line.`,
		Example: `  stevedore artifact pull 127.0.0.1:5000/docs:v1 -o ./docs
  stevedore artifact pull --json oci:./layout:model -o /tmp/model`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			res, err := ef.engine().PullArtifact(cmd.Context(), r, out, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			for _, s := range res.Skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "skipped untitled layer %s (%s)\n", s.Digest, s.MediaType)
			}
			for _, f := range res.Files {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(out, filepath.FromSlash(f.Name))); err != nil {
					return err
				}
			}
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", ".", "directory to write the files into")
	cmd.Flags().Int64Var(&opts.MaxUnpackSize, "max-unpack-size", 0, "fail when a directory layer decompresses to more than this many bytes (default 64 GiB)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was written and skipped as JSON")
	return cmd
}

func newArtifactDiscoverCmd() *cobra.Command {
	var ef engineFlags
	var opts artifact.DiscoverOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "discover REF",
		Short: "List the referrers of an image or artifact as a tree",
		Long: `List the manifests that refer to REF (signatures, SBOMs, attestations), and
theirs, as a tree: from the registry's referrers API, its tag schema index
where it has no API, or an OCI layout's index.json. --artifact-type keeps only
referrers of that type, at every level.`,
		Example: `  stevedore artifact discover 127.0.0.1:5000/app:v1
  stevedore artifact discover --artifact-type application/spdx+json --json oci:./layout:v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			tree, err := ef.engine().DiscoverReferrers(cmd.Context(), r, opts)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printJSON(w, tree)
			}
			fmt.Fprintf(w, "%s@%s\n", refName(r), tree.Digest)
			printTree(w, tree, "")
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&opts.ArtifactType, "artifact-type", "", "list only referrers of this artifact type")
	cmd.Flags().IntVar(&opts.MaxDepth, "depth", 0, "levels of referrers of referrers to list (default 8)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tree as JSON")
	return cmd
}

// refName is r without its tag or digest, to print beside a digest.
func refName(r transport.Ref) string {
	if r.Transport == transport.Docker {
		return r.Image.Name()
	}
	return r.Transport + ":" + r.Path
}

// printTree draws n's referrers below it, one a line: digest and type.
func printTree(w io.Writer, n *artifact.Node, indent string) {
	for i, c := range n.Referrers {
		branch, next := "├── ", "│   "
		if i == len(n.Referrers)-1 {
			branch, next = "└── ", "    "
		}
		at := c.ArtifactType
		if at == "" {
			at = c.MediaType
		}
		fmt.Fprintf(w, "%s%s%s %s\n", indent, branch, c.Digest, at)
		printTree(w, c, indent+next)
	}
}
