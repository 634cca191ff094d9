package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
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

// destination parses -t; the zero Ref (no -t) means the verb's default.
func (f *writeFlags) destination() (transport.Ref, error) {
	if f.dst == "" {
		return transport.Ref{}, nil
	}
	r, err := transport.ParseRef(f.dst)
	if err != nil {
		return r, usageError{err}
	}
	return r, nil
}

// printResult writes the new digest on stdout, or the whole result as JSON.
func printResult(cmd *cobra.Command, res *engine.WriteResult, asJSON bool) error {
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
			opts := engine.MutateOptions{Platforms: platforms, RemoveLayers: removeLayers, Convert: convert}
			var err error
			if recompress != "" {
				if opts.Recompress, err = layer.ParseCompression(recompress); err != nil {
					return usageError{err}
				}
			}
			f := cmd.Flags()
			c := &opts.Config
			c.Env, c.UnsetEnv = env, unsetEnv
			c.RemoveLabels, c.ExposedPorts, c.Volumes = rmLabels, ports, vols
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
				p, err := oci.ParsePlatform(setPlatform)
				if err != nil {
					return usageError{err}
				}
				c.Platform = &p
			}
			if created != "" {
				t, err := parseCreated(created)
				if err != nil {
					return usageError{err}
				}
				c.Created = &t
			}
			if opts.Annotations.Set, err = parseKV("--annotation", annots); err != nil {
				return err
			}
			opts.Annotations.Remove = rmAnnots
			if opts.IndexAnnotations.Set, err = parseKV("--index-annotation", idxAnnots); err != nil {
				return err
			}
			return runMutate(cmd, &wf, args[0], asJSON, func(e *engine.Engine, ref, to transport.Ref) (*engine.WriteResult, error) {
				opts.To = to
				return e.Mutate(cmd.Context(), ref, opts)
			})
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

// runMutate parses ref and -t, runs verb and prints the result.
func runMutate(cmd *cobra.Command, wf *writeFlags, ref string, asJSON bool, verb func(e *engine.Engine, ref, to transport.Ref) (*engine.WriteResult, error)) error {
	r, err := transport.ParseRef(ref)
	if err != nil {
		return err
	}
	to, err := wf.destination()
	if err != nil {
		return err
	}
	res, err := verb(wf.engine(), r, to)
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
