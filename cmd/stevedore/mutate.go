package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// writeFlags are the flags of the verbs that write a new image: where the
// result goes.
type writeFlags struct {
	engineFlags
	dst string
}

func (f *writeFlags) register(cmd *cobra.Command) {
	f.engineFlags.register(cmd)
	cmd.Flags().StringVarP(&f.dst, "tag", "t", "", "push the result to `DST` (default: the source's repository and tag; required for archives)")
}

// openImage parses ref and opens it for reading.
func (f *engineFlags) openImage(ctx context.Context, ref string) (mutate.Image, transport.Ref, error) {
	r, err := transport.ParseRef(ref)
	if err != nil {
		return mutate.Image{}, r, err
	}
	src, err := f.engine().Open(ctx, r)
	if err != nil {
		return mutate.Image{}, r, err
	}
	name := r.String()
	if r.Transport == transport.Docker {
		name = r.Image.String()
	}
	return mutate.Image{Src: src, Ref: r.Identifier(), Name: name}, r, nil
}

// openTarget returns where a verb writes the image read from src: the
// -t destination, or src's own repository and tag. Without -t, an image
// named by digest alone is pushed by digest; an archive source needs -t,
// since writing an archive replaces it whole.
func (f *writeFlags) openTarget(ctx context.Context, src transport.Ref) (transport.Target, string, error) {
	dr := src
	if f.dst != "" {
		var err error
		if dr, err = transport.ParseRef(f.dst); err != nil {
			return nil, "", usageError{err}
		}
		if dr.Digest != "" || dr.Image.Digest != "" {
			return nil, "", usageError{fmt.Errorf("destination %s names a digest; name a tag or nothing: %w", dr, errdef.ErrInvalid)}
		}
	} else if src.Transport == transport.OCIArchive || src.Transport == transport.DockerArchive {
		return nil, "", usageError{fmt.Errorf("writing %s would replace the archive; name a destination with -t: %w", src, errdef.ErrInvalid)}
	}
	tag := dr.TagName()
	dst, err := f.engine().OpenTarget(ctx, dr)
	return dst, tag, err
}

// printResult writes the new digest on stdout, or the whole result as JSON.
func printResult(cmd *cobra.Command, res *mutate.Result, asJSON bool) error {
	if asJSON {
		return printJSON(cmd.OutOrStdout(), res)
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), res.Digest)
	return err
}

// parseArgv reads an --entrypoint or --cmd value: a JSON array, or words
// split on white space; "" clears the field.
func parseArgv(s string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("%q is not a JSON array of strings: %v: %w", s, err, errdef.ErrInvalid)
		}
		return v, nil
	}
	return strings.Fields(s), nil
}

// parseKV turns repeated KEY=VALUE flag values into a map (nil when there
// are none); what names the flag in the usage error.
func parseKV(what string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("%s %q: want KEY=VALUE", what, kv)}
		}
		m[k] = v
	}
	return m, nil
}

func newMutateCmd() *cobra.Command {
	var wf writeFlags
	var (
		asJSON                                                                        bool
		platforms                                                                     []string
		env, unsetEnv, labels, rmLabels, annots, rmAnnots, idxAnnots, ports, vols     []string
		entrypoint, cmdline, user, workdir, setPlatform, created, convert, recompress string
		removeLayers                                                                  []int
	)
	cmd := &cobra.Command{
		Use:   "mutate REF",
		Short: "Edit an image's config, annotations, layers or media types into a new image",
		Long: `Write a new image from REF with the edits asked for, push it (to -t DST, or back
to REF's repository and tag), and print its digest. REF itself is never
changed: its digest still names the old image.

Config edits keep every field they do not name, including ones stevedore does
not know. On an index, every platform is edited and the index rebuilt around
the new manifests (platform fields kept); --platform (repeatable) limits the
edit to some platforms. Attestation entries (unknown/unknown) are kept as they are.

Edits run in this order: --remove-layer, --recompress, --convert, config and
annotation edits.`,
		Example: `  stevedore mutate 127.0.0.1:5000/app:v1 -t 127.0.0.1:5000/app:v2 --env MODE=prod --label team=core
  stevedore mutate oci:./layout:v1 --entrypoint '["/app","--serve"]' --cmd '' --user 1000:1000
  stevedore mutate 127.0.0.1:5000/app:v1 --platform linux/arm64 --set-platform linux/arm64/v8
  stevedore mutate 127.0.0.1:5000/app:v1 --annotation org.opencontainers.image.source=https://example.com
  stevedore mutate 127.0.0.1:5000/app:v1 --index-annotation org.opencontainers.image.version=1.0
  stevedore mutate 127.0.0.1:5000/app:v1 -t 127.0.0.1:5000/app:slim --remove-layer -1
  stevedore mutate oci:./layout:v1 -t oci:./layout:docker --convert docker
  stevedore mutate 127.0.0.1:5000/app:v1 -t 127.0.0.1:5000/app:zstd --recompress zstd`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var steps []mutate.Step
			if len(removeLayers) > 0 {
				steps = append(steps, mutate.RemoveLayers{Indexes: removeLayers})
			}
			if recompress != "" {
				c, err := layer.ParseCompression(recompress)
				if err != nil {
					return usageError{err}
				}
				steps = append(steps, mutate.Recompress{To: c})
			}
			if convert != "" {
				steps = append(steps, mutate.Convert{To: convert})
			}
			var c mutate.Config
			edited := false
			f := cmd.Flags()
			c.Env, c.UnsetEnv = env, unsetEnv
			c.RemoveLabels, c.ExposedPorts, c.Volumes = rmLabels, ports, vols
			var err error
			if c.Labels, err = parseKV("--label", labels); err != nil {
				return err
			}
			for name, dst := range map[string]**[]string{"entrypoint": &c.Entrypoint, "cmd": &c.Cmd} {
				if f.Changed(name) {
					v := entrypoint
					if name == "cmd" {
						v = cmdline
					}
					argv, err := parseArgv(v)
					if err != nil {
						return usageError{err}
					}
					*dst = &argv
				}
			}
			if f.Changed("user") {
				c.User = &user
			}
			if f.Changed("workdir") {
				c.WorkingDir = &workdir
			}
			if setPlatform != "" {
				if c.Platform, err = mutate.ParsePlatform(setPlatform); err != nil {
					return usageError{err}
				}
			}
			if created != "" {
				t, err := parseCreated(created)
				if err != nil {
					return usageError{err}
				}
				c.Created = &t
			}
			for _, n := range []string{"env", "unset-env", "label", "remove-label", "expose", "volume", "entrypoint", "cmd", "user", "workdir", "set-platform", "created"} {
				edited = edited || f.Changed(n)
			}
			if edited {
				steps = append(steps, c)
			}
			if len(annots) > 0 || len(rmAnnots) > 0 {
				set, err := parseKV("--annotation", annots)
				if err != nil {
					return err
				}
				steps = append(steps, mutate.Annotations{Set: set, Remove: rmAnnots})
			}
			if len(idxAnnots) > 0 {
				set, err := parseKV("--index-annotation", idxAnnots)
				if err != nil {
					return err
				}
				steps = append(steps, mutate.IndexAnnotations{Set: set})
			}
			if len(steps) == 0 {
				return usageError{fmt.Errorf("no edit given (see --help)")}
			}
			return runSteps(ctx, cmd, &wf, args[0], platforms, asJSON, steps...)
		},
	}
	wf.register(cmd)
	f := cmd.Flags()
	f.StringArrayVar(&platforms, "platform", nil, "edit only this platform of an index, os/arch[/variant] (repeatable; default: every platform)")
	f.StringArrayVar(&env, "env", nil, "set environment variable `KEY=VALUE` (repeatable)")
	f.StringArrayVar(&unsetEnv, "unset-env", nil, "remove environment variable `KEY` (repeatable)")
	f.StringVar(&entrypoint, "entrypoint", "", "set the entrypoint: a JSON array or words; '' clears it")
	f.StringVar(&cmdline, "cmd", "", "set the default arguments: a JSON array or words; '' clears them")
	f.StringVar(&user, "user", "", "set the user (name, uid, uid:gid)")
	f.StringVar(&workdir, "workdir", "", "set the working directory")
	f.StringArrayVar(&labels, "label", nil, "set config label `KEY=VALUE` (repeatable)")
	f.StringArrayVar(&rmLabels, "remove-label", nil, "remove config label `KEY` (repeatable)")
	f.StringArrayVar(&ports, "expose", nil, "add an exposed `PORT[/PROTO]` (repeatable)")
	f.StringArrayVar(&vols, "volume", nil, "add a volume `PATH` (repeatable)")
	f.StringVar(&setPlatform, "set-platform", "", "set os/arch[/variant] in the config (and the index entry)")
	f.StringVar(&created, "created", "", "set the creation time: RFC 3339, a Unix timestamp, or 'now'")
	f.StringArrayVarP(&annots, "annotation", "a", nil, "set manifest annotation `KEY=VALUE` (repeatable)")
	f.StringArrayVar(&rmAnnots, "remove-annotation", nil, "remove manifest annotation `KEY` (repeatable)")
	f.StringArrayVar(&idxAnnots, "index-annotation", nil, "set annotation `KEY=VALUE` on the index itself (repeatable)")
	f.IntSliceVar(&removeLayers, "remove-layer", nil, "remove layer `N` (0 is the base, -1 the top; repeatable)")
	f.StringVar(&convert, "convert", "", "convert media types to `oci` or `docker`")
	f.StringVar(&recompress, "recompress", "", "recompress layers with `gzip`, `zstd` or none")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// runSteps applies steps to ref and prints the result.
func runSteps(ctx context.Context, cmd *cobra.Command, wf *writeFlags, ref string, platforms []string, asJSON bool, steps ...mutate.Step) error {
	img, r, err := wf.openImage(ctx, ref)
	if err != nil {
		return err
	}
	dst, tag, err := wf.openTarget(ctx, r)
	if err != nil {
		return err
	}
	res, err := mutate.Apply(ctx, img, dst, tag, mutate.Options{Platforms: platforms}, steps...)
	if err != nil {
		return err
	}
	return printResult(cmd, res, asJSON)
}

// parseCreated reads --created: RFC 3339, Unix seconds, or "now".
func parseCreated(s string) (time.Time, error) {
	if s == "now" {
		return time.Now().UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var sec int64
	if _, err := fmt.Sscanf(s, "%d", &sec); err == nil && fmt.Sprint(sec) == s {
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--created %q: want RFC 3339, Unix seconds or now", s)
}
