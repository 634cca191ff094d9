package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// The types below decode manifests, configs and stevedore's inspect output
// independently of stevedore's own packages, so a shared bug cannot hide.

// descriptor is an OCI content descriptor (image-spec v1.1.1 descriptor.md,
// https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md).
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Platform     *platform         `json:"platform,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// manifest covers image manifests and indexes (image-spec v1.1.1
// manifest.md and image-index.md).
type manifest struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Config       *descriptor       `json:"config,omitempty"`
	Layers       []descriptor      `json:"layers,omitempty"`
	Manifests    []descriptor      `json:"manifests,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

func (m manifest) isIndex() bool { return m.Manifests != nil && m.Config == nil }

// imageConfig is the part of an image config both sides report
// (image-spec v1.1.1 config.md).
type imageConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	Config       struct {
		Env        []string          `json:"Env"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// inspectOutput is what an inspection reports, in one form: each view (CLI,
// gRPC, REST) converts its response into it so one comparison serves every
// interface.
type inspectOutput struct {
	Ref            string            `json:"ref"`
	Digest         string            `json:"digest"`
	MediaType      string            `json:"mediaType"`
	Platforms      []platform        `json:"platforms"`
	ManifestDigest string            `json:"manifestDigest"`
	ArtifactType   string            `json:"artifactType"`
	Annotations    map[string]string `json:"annotations"`
	Config         *imageConfig      `json:"config"`
	Layers         []descriptor      `json:"layers"`
}

// craneView is what the crane oracle reports about one reference.
type craneView struct {
	Raw      []byte
	Digest   string
	Manifest manifest
}

// craneSees fetches ref's manifest and digest with crane.
func craneSees(t testing.TB, ref string) craneView {
	t.Helper()
	v := craneView{Raw: crane(t, "manifest", ref), Digest: strings.TrimSpace(string(crane(t, "digest", ref)))}
	if err := json.Unmarshal(v.Raw, &v.Manifest); err != nil {
		t.Fatalf("crane manifest %s: %v", ref, err)
	}
	if got := sha256Digest(v.Raw); got != v.Digest {
		t.Fatalf("oracle disagrees with itself: crane digest %s, manifest bytes hash to %s", v.Digest, got)
	}
	return v
}

// craneConfig returns the decoded config of the image ref names.
func craneConfig(t testing.TB, ref string) imageConfig {
	t.Helper()
	var c imageConfig
	if err := json.Unmarshal(crane(t, "config", ref), &c); err != nil {
		t.Fatalf("crane config %s: %v", ref, err)
	}
	return c
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
