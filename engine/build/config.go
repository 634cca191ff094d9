package build

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// configEdit is what one new config changes of its base.
type configEdit struct {
	cfg       Config
	platform  *oci.Platform // set on scratch; a base keeps its own
	diffIDs   []digest.Digest
	created   time.Time
	createdBy string
}

// jsonObject keeps a JSON object's members as raw values, so fields this
// package does not know (Docker's Healthcheck, a base's history details)
// pass through untouched; encoding/json writes map keys sorted, so the
// result is deterministic.
type jsonObject map[string]json.RawMessage

// get decodes member k into v; an absent or null member leaves v alone.
func (o jsonObject) get(k string, v any) error {
	raw, ok := o[k]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("config field %q: %v: %w", k, err, errdef.ErrInvalid)
	}
	return nil
}

// set encodes v as member k.
func (o jsonObject) set(k string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only strings, slices and maps of them reach here.
		panic(fmt.Sprintf("build: marshalling %s: %v", k, err))
	}
	o[k] = raw
}

// editConfig returns base (nil: scratch) with e applied: config fields set,
// the new layers' diff_ids and history entries appended, and created set.
//
// image-spec v1.1.1 config.md §Properties (rootfs, history, config):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
func editConfig(base []byte, e configEdit) ([]byte, error) {
	top := jsonObject{}
	if base != nil {
		if err := json.Unmarshal(base, &top); err != nil {
			return nil, fmt.Errorf("base image config is not a JSON object: %v: %w", err, errdef.ErrInvalid)
		}
	}
	if e.platform != nil {
		top.set("os", e.platform.OS)
		top.set("architecture", e.platform.Architecture)
		if e.platform.Variant != "" {
			top.set("variant", e.platform.Variant)
		}
	}
	cc := jsonObject{}
	if err := top.get("config", &cc); err != nil {
		return nil, err
	}
	if err := applyConfig(cc, e.cfg); err != nil {
		return nil, err
	}
	top.set("config", cc)

	var rootfs struct {
		Type    string          `json:"type"`
		DiffIDs []digest.Digest `json:"diff_ids"`
	}
	if err := top.get("rootfs", &rootfs); err != nil {
		return nil, err
	}
	rootfs.Type = "layers"
	rootfs.DiffIDs = append(append([]digest.Digest{}, rootfs.DiffIDs...), e.diffIDs...)
	top.set("rootfs", rootfs)

	var history []json.RawMessage
	if err := top.get("history", &history); err != nil {
		return nil, err
	}
	for range e.diffIDs {
		history = append(history, mustJSON(struct {
			Created   time.Time `json:"created"`
			CreatedBy string    `json:"created_by"`
		}{e.created, e.createdBy}))
	}
	if len(history) > 0 {
		top.set("history", history)
	}
	top.set("created", e.created)
	return json.Marshal(top)
}

// applyConfig sets the container config fields (config.md §config).
func applyConfig(cc jsonObject, c Config) error {
	if len(c.Env) > 0 {
		var env []string
		if err := cc.get("Env", &env); err != nil {
			return err
		}
		for _, kv := range c.Env {
			k, _, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("env %q: want KEY=VALUE: %w", kv, errdef.ErrInvalid)
			}
			if i := slices.IndexFunc(env, func(old string) bool { return strings.HasPrefix(old, k+"=") }); i >= 0 {
				env[i] = kv // in place, as docker's ENV does
			} else {
				env = append(env, kv)
			}
		}
		cc.set("Env", env)
	}
	if c.Entrypoint != nil {
		cc.set("Entrypoint", c.Entrypoint)
	}
	if c.Cmd != nil {
		cc.set("Cmd", c.Cmd)
	}
	if c.WorkingDir != "" {
		cc.set("WorkingDir", c.WorkingDir)
	}
	if c.User != "" {
		cc.set("User", c.User)
	}
	if len(c.Labels) > 0 {
		labels := map[string]string{}
		if err := cc.get("Labels", &labels); err != nil {
			return err
		}
		for k, v := range c.Labels {
			labels[k] = v
		}
		cc.set("Labels", labels)
	}
	if len(c.ExposedPorts) > 0 {
		ports := map[string]struct{}{}
		if err := cc.get("ExposedPorts", &ports); err != nil {
			return err
		}
		for _, p := range c.ExposedPorts {
			np, err := normalizePort(p)
			if err != nil {
				return err
			}
			ports[np] = struct{}{}
		}
		cc.set("ExposedPorts", ports)
	}
	return nil
}

// normalizePort turns "8080" into "8080/tcp" and checks port/proto.
func normalizePort(p string) (string, error) {
	port, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	n := 0
	for _, r := range port {
		if r < '0' || r > '9' {
			n = -1
			break
		}
		n = n*10 + int(r-'0')
		if n > 65535 {
			break
		}
	}
	if port == "" || n < 0 || n > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return "", fmt.Errorf("exposed port %q: want PORT[/tcp|udp|sctp]: %w", p, errdef.ErrInvalid)
	}
	return port + "/" + proto, nil
}

// mustJSON marshals values that cannot fail to marshal.
func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("build: marshalling: %v", err))
	}
	return raw
}
