package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/build"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// imageFlags are the flags build and append share: what the new image's
// config says and how its layers are written.
type imageFlags struct {
	engineFlags
	env, entrypoint, cmd, labels, ports, annotations []string
	workdir, user, platform, compress, format        string
	reproducible, asJSON                             bool
}

func (f *imageFlags) register(cmd *cobra.Command) {
	f.engineFlags.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.env, "env", nil, "set an environment variable, `KEY=VALUE` (repeatable)")
	fl.StringArrayVar(&f.entrypoint, "entrypoint", nil, "entrypoint, one `ARG` per flag, or a JSON array")
	fl.StringArrayVar(&f.cmd, "cmd", nil, "default command, one `ARG` per flag, or a JSON array")
	fl.StringArrayVar(&f.labels, "label", nil, "set a config label, `KEY=VALUE` (repeatable)")
	fl.StringArrayVar(&f.ports, "expose", nil, "expose a `PORT[/tcp|udp]` (repeatable)")
	fl.StringArrayVarP(&f.annotations, "annotation", "a", nil, "set a manifest annotation, `KEY=VALUE` (repeatable; OCI format only)")
	fl.StringVar(&f.workdir, "workdir", "", "working directory")
	fl.StringVar(&f.user, "user", "", "user (and group) to run as, `USER[:GROUP]`")
	fl.StringVar(&f.compress, "compress", "gzip", "compression of the new layers: gzip, zstd or none")
	fl.StringVar(&f.format, "format", "", "manifest format: oci or docker (default: the base's, oci on scratch)")
	fl.BoolVar(&f.reproducible, "reproducible", false, "normalise owners and times (uid/gid 0, mtime and created SOURCE_DATE_EPOCH or 1970-01-01) so the same input gives the same digest")
	fl.BoolVar(&f.asJSON, "json", false, "print the result (digest, layers, diff_ids) as JSON")
}

// options turns the flags, and SOURCE_DATE_EPOCH, into build options.
func (f *imageFlags) options(files []string) (build.Options, error) {
	var o build.Options
	for _, p := range files {
		in, err := inputOf(p)
		if err != nil {
			return o, err
		}
		o.Layers = append(o.Layers, in)
	}
	var err error
	if o.Compression, err = layer.ParseCompression(f.compress); err != nil {
		return o, usageError{err}
	}
	if f.format != "" && f.format != build.FormatOCI && f.format != build.FormatDocker {
		return o, usageError{fmt.Errorf("--format %q: want oci or docker", f.format)}
	}
	o.Format, o.Platform, o.Reproducible = f.format, f.platform, f.reproducible
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 {
			return o, usageError{fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)}
		}
		t := time.Unix(sec, 0).UTC()
		o.SourceDateEpoch = &t
	}
	c := &o.Config
	c.Env, c.WorkingDir, c.User, c.ExposedPorts = f.env, f.workdir, f.user, f.ports
	if c.Entrypoint, err = argv("entrypoint", f.entrypoint); err != nil {
		return o, err
	}
	if c.Cmd, err = argv("cmd", f.cmd); err != nil {
		return o, err
	}
	if c.Labels, err = parseKV("--label", f.labels); err != nil {
		return o, err
	}
	if o.Annotations, err = parseKV("--annotation", f.annotations); err != nil {
		return o, err
	}
	return o, nil
}

// inputOf makes a layer input of a directory or a tar file.
func inputOf(p string) (build.Input, error) {
	st, err := os.Stat(p)
	if err != nil {
		return build.Input{}, err
	}
	if st.IsDir() {
		return build.Input{Dir: p}, nil
	}
	return build.Input{Tar: p}, nil
}

// argv reads --entrypoint or --cmd: one argument per flag, or one JSON array.
func argv(name string, vals []string) ([]string, error) {
	if len(vals) == 1 && strings.HasPrefix(strings.TrimSpace(vals[0]), "[") {
		var out []string
		if err := json.Unmarshal([]byte(vals[0]), &out); err != nil {
			return nil, usageError{fmt.Errorf("--%s %q: not a JSON array of strings: %v", name, vals[0], err)}
		}
		return out, nil
	}
	return vals, nil
}

// printResult prints the new digest, or the whole result with --json.
func (f *imageFlags) printResult(cmd *cobra.Command, res *engine.BuildResult) error {
	out := cmd.OutOrStdout()
	if f.asJSON {
		return printJSON(out, res)
	}
	for _, l := range res.Layers {
		fmt.Fprintf(cmd.ErrOrStderr(), "layer %s %s (diff_id %s)\n", l.Digest, humanBytes(l.Size), l.DiffID)
	}
	_, err := fmt.Fprintln(out, res.Digest)
	return err
}

func newBuildCmd() *cobra.Command {
	var f imageFlags
	var tag, base string
	var layers []string
	cmd := &cobra.Command{
		Use:   "build [DIR|TAR] -t REF",
		Short: "Build an image from directories or tars, on scratch or on a base image",
		Long: `Build an image whose layers are DIR (or a tar file) and each --layer, bottom
first, and write it to REF: docker://HOST/REPO:TAG (or a bare HOST/REPO:TAG),
oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG].

A directory becomes a tar in a fixed order (sorted by name): regular files,
directories, symlinks (stored as links, never followed), hardlinks, modes. A tar
file (plain, gzip or zstd) is passed through entry by entry; a path that is
absolute or climbs out with ../ is refused. With --reproducible, or when
SOURCE_DATE_EPOCH is set, owners become 0:0 and every time becomes
SOURCE_DATE_EPOCH (or 1970-01-01), so building the same input twice gives the
same digest.

With --base, the image starts from REF's layers and config (the --platform entry
of an index; default linux/<host arch>), which are copied to the destination if
it lacks them, and the manifest carries org.opencontainers.image.base.name and
.digest. Layers are gzip unless --compress says zstd or none; manifests are OCI
unless --format docker (or a Docker base).

The new digest is printed on stdout; layer digests and diff_ids on stderr.`,
		Example: `  stevedore build ./rootfs -t 127.0.0.1:5000/app:v1
  stevedore build ./app --base docker.io/library/alpine:3.20 -t oci:./layout:v1 \
      --entrypoint /app/server --env PORT=8080 --expose 8080
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) stevedore build ./dist -t oci-archive:app.tar:v1
  stevedore build --layer ./deps --layer ./app.tar.gz --compress zstd --reproducible -t 127.0.0.1:5000/app:v2
  stevedore build ./rootfs --platform linux/arm64 --format docker -t docker-archive:app.tar:app:v1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tag == "" {
				return usageError{fmt.Errorf("-t REF is required")}
			}
			bo, err := f.options(append(args, layers...))
			if err != nil {
				return err
			}
			if len(bo.Layers) == 0 && base == "" {
				return usageError{fmt.Errorf("nothing to build: give a DIR, a --layer or a --base")}
			}
			opts := engine.BuildOptions{Options: bo}
			if base != "" {
				if opts.Base, err = transport.ParseRef(base); err != nil {
					return err
				}
			}
			to, err := transport.ParseRef(tag)
			if err != nil {
				return err
			}
			res, err := f.engine().Build(cmd.Context(), to, opts)
			if err != nil {
				return err
			}
			return f.printResult(cmd, res)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&tag, "tag", "t", "", "where to write the image, `REF` (required)")
	cmd.Flags().StringVar(&base, "base", "", "base image `REF` (default: scratch)")
	cmd.Flags().StringArrayVar(&layers, "layer", nil, "another layer, a `DIR` or tar file, above the previous ones (repeatable)")
	cmd.Flags().StringVar(&f.platform, "platform", "", "platform of the image, os/arch[/variant]; picks a base index's entry (default linux/<host arch>)")
	return cmd
}
