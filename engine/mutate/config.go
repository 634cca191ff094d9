package mutate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Config is a Step that edits the image config's runtime settings and
// metadata. Nil and empty fields leave the config alone.
//
// image-spec v1.1.1 config.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
type Config struct {
	// Env sets variables, each KEY=VALUE, replacing a variable of the same
	// name in place or appending it.
	Env []string
	// UnsetEnv removes variables by name.
	UnsetEnv []string
	// Entrypoint and Cmd replace their fields when non-nil; an empty slice
	// clears the field.
	Entrypoint *[]string
	Cmd        *[]string
	// User and WorkingDir replace their fields when non-nil.
	User       *string
	WorkingDir *string
	// Labels are set; RemoveLabels are removed (after setting).
	Labels       map[string]string
	RemoveLabels []string
	// ExposedPorts ("8080", "53/udp"; no protocol means tcp) and Volumes
	// are added; the Remove lists take entries away.
	ExposedPorts       []string
	RemoveExposedPorts []string
	Volumes            []string
	RemoveVolumes      []string
	// Platform, when set, replaces os, architecture and variant in the
	// config, and the platform of the manifest's entry in its index.
	Platform *oci.Platform
	// Created, when set, replaces the creation time.
	Created *time.Time
}

func (c Config) apply(_ context.Context, _ *stage, img *image) error {
	if err := img.needConfig("config edit"); err != nil {
		return err
	}
	rc, err := img.container()
	if err != nil {
		return err
	}
	if len(c.Env) > 0 || len(c.UnsetEnv) > 0 {
		var env []string
		if _, err := rc.get("Env", &env); err != nil {
			return err
		}
		if env, err = editEnv(env, c.Env, c.UnsetEnv); err != nil {
			return err
		}
		if err := setOrDelete(rc, "Env", env, len(env) == 0); err != nil {
			return err
		}
	}
	for key, v := range map[string]*[]string{"Entrypoint": c.Entrypoint, "Cmd": c.Cmd} {
		if v != nil {
			if err := setOrDelete(rc, key, *v, len(*v) == 0); err != nil {
				return err
			}
		}
	}
	for key, v := range map[string]*string{"User": c.User, "WorkingDir": c.WorkingDir} {
		if v != nil {
			if err := setOrDelete(rc, key, *v, *v == ""); err != nil {
				return err
			}
		}
	}
	if len(c.Labels) > 0 || len(c.RemoveLabels) > 0 {
		labels := map[string]string{}
		if _, err := rc.get("Labels", &labels); err != nil {
			return err
		}
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range c.Labels {
			labels[k] = v
		}
		for _, k := range c.RemoveLabels {
			delete(labels, k)
		}
		if err := setOrDelete(rc, "Labels", labels, len(labels) == 0); err != nil {
			return err
		}
	}
	if err := editSet(rc, "ExposedPorts", c.ExposedPorts, c.RemoveExposedPorts, normalisePort); err != nil {
		return err
	}
	if err := editSet(rc, "Volumes", c.Volumes, c.RemoveVolumes, func(s string) (string, error) { return s, nil }); err != nil {
		return err
	}
	if err := img.cfg.set("config", rc); err != nil {
		return err
	}
	if p := c.Platform; p != nil {
		if p.OS == "" || p.Architecture == "" {
			return fmt.Errorf("platform needs os and architecture: %w", errdef.ErrInvalid)
		}
		img.cfg.set("os", p.OS)
		img.cfg.set("architecture", p.Architecture)
		if p.Variant != "" {
			img.cfg.set("variant", p.Variant)
		} else {
			delete(img.cfg, "variant")
		}
		np := oci.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
		if old := img.desc.Platform; old != nil {
			np.OSVersion, np.OSFeatures = old.OSVersion, old.OSFeatures
		}
		img.desc.Platform = &np
	}
	if c.Created != nil {
		if err := img.cfg.set("created", c.Created.UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
	}
	return nil
}

// setOrDelete sets key to v, or removes it when empty says so, as Docker
// omits empty runtime settings.
func setOrDelete(o object, key string, v any, empty bool) error {
	if empty {
		delete(o, key)
		return nil
	}
	return o.set(key, v)
}

// editEnv applies KEY=VALUE settings and removals to env, keeping order.
func editEnv(env, set, unset []string) ([]string, error) {
	out := append([]string{}, env...)
	for _, kv := range set {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("env %q: want KEY=VALUE: %w", kv, errdef.ErrInvalid)
		}
		replaced := false
		for i, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	for _, k := range unset {
		kept := out[:0]
		for _, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek != k {
				kept = append(kept, e)
			}
		}
		out = kept
	}
	return out, nil
}

// editSet edits a member that is a set encoded as an object of empty
// objects (ExposedPorts, Volumes), keeping the values of existing entries.
func editSet(o object, key string, add, remove []string, norm func(string) (string, error)) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	set, err := o.child(key)
	if err != nil {
		return err
	}
	for _, a := range add {
		n, err := norm(a)
		if err != nil {
			return err
		}
		if _, ok := set[n]; !ok {
			set[n] = []byte("{}")
		}
	}
	for _, r := range remove {
		n, err := norm(r)
		if err != nil {
			return err
		}
		delete(set, n)
	}
	return setOrDelete(o, key, set, len(set) == 0)
}

// normalisePort turns "8080" into "8080/tcp" and checks PORT[/PROTO].
func normalisePort(s string) (string, error) {
	port, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	if port == "" || strings.Trim(port, "0123456789-") != "" || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return "", fmt.Errorf("port %q: want PORT[/tcp|udp|sctp]: %w", s, errdef.ErrInvalid)
	}
	return port + "/" + proto, nil
}

// Annotations is a Step that sets and removes annotations of each image
// manifest in scope.
//
// image-spec v1.1.1 annotations.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md
type Annotations struct {
	Set    map[string]string
	Remove []string
}

func (a Annotations) apply(_ context.Context, _ *stage, img *image) error {
	editAnnotations(img.annotations, a.Set, a.Remove)
	return nil
}

func editAnnotations(m, set map[string]string, remove []string) {
	for k, v := range set {
		m[k] = v
	}
	for _, k := range remove {
		delete(m, k)
	}
}

// IndexAnnotations is a Step that sets and removes annotations of the index
// itself; Apply refuses it when the source is not an index.
type IndexAnnotations struct {
	Set    map[string]string
	Remove []string
}

func (IndexAnnotations) apply(context.Context, *stage, *image) error { return nil }

func (a IndexAnnotations) applyIndex(_ context.Context, idx object, _ *string) error {
	m := map[string]string{}
	if _, err := idx.get("annotations", &m); err != nil {
		return err
	}
	if m == nil {
		m = map[string]string{}
	}
	editAnnotations(m, a.Set, a.Remove)
	return setOrDelete(idx, "annotations", m, len(m) == 0)
}

// IsZero reports whether c edits nothing.
func (c Config) IsZero() bool {
	return len(c.Env)+len(c.UnsetEnv)+len(c.Labels)+len(c.RemoveLabels)+len(c.ExposedPorts)+len(c.RemoveExposedPorts)+len(c.Volumes)+len(c.RemoveVolumes) == 0 &&
		c.Entrypoint == nil && c.Cmd == nil && c.User == nil && c.WorkingDir == nil && c.Platform == nil && c.Created == nil
}
