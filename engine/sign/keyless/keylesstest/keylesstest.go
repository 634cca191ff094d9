// Package keylesstest writes the real keyless signatures of
// keyless/testdata into an OCI layout, stored as cosign stores them, for the
// keyless tests and the integration tests (which copy them to registries
// for cosign to verify).
package keylesstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// The signers of the vectors.
var (
	// LegacyIdentity signed the legacy vector (containers/image's fixture).
	LegacyIdentity = sign.Identity{Subject: "mitr@redhat.com", Issuer: "https://github.com/login/oauth"}
	// BundleIdentity signed the bundle vector (cosign's OCI attestation).
	BundleIdentity = sign.Identity{Subject: "cody@soyland.com", Issuer: "https://github.com/login/oauth"}
)

// BundlePredicateType is the bundle vector's predicate type.
const BundlePredicateType = "https://cosign.sigstore.dev/attestation/v1"

// Vectors is a layout holding the two images and their keyless signatures.
type Vectors struct {
	// Dir is the layout.
	Dir string
	// Legacy is the image signed in the legacy format (tagged "legacy";
	// only its manifest is present, its blobs are not), LegacySig the tag
	// of its signature manifest.
	Legacy    oci.Descriptor
	LegacySig string
	// Bundle is go-containerregistry's empty image (tagged "empty",
	// complete), attested by a bundle referrer.
	Bundle oci.Descriptor
	// Referrer is the bundle referrer manifest.
	Referrer oci.Descriptor
}

// TestData returns the path of a file of keyless/testdata.
func TestData(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(TestData(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Write creates the layout at dir. tamper, when set, edits the legacy
// signature's annotations and payload before they are stored.
func Write(t testing.TB, dir string, tamper func(ann map[string]string, payload []byte) []byte) *Vectors {
	t.Helper()
	ctx := context.Background()
	fs, err := store.CreateFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(mt string, raw []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
		if err := fs.Put(ctx, d, bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	tag := func(d oci.Descriptor, tag string) {
		if err := fs.Tag(ctx, d, tag); err != nil {
			t.Fatal(err)
		}
	}
	v := &Vectors{Dir: dir}

	// Legacy: containers/image keeps the layer as {mimeType, payload,
	// annotations} after a NUL and "sigstore-json\n".
	v.Legacy = put(oci.MediaTypeDockerManifest, read(t, "containers-image/manifest.json"))
	tag(v.Legacy, "legacy")
	var sig struct {
		MIMEType    string            `json:"mimeType"`
		Payload     []byte            `json:"payload"`
		Annotations map[string]string `json:"annotations"`
	}
	raw := read(t, "containers-image/signature-1")
	if err := json.Unmarshal(bytes.TrimPrefix(raw, []byte("\x00sigstore-json\n")), &sig); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		sig.Payload = tamper(sig.Annotations, sig.Payload)
	}
	layer := put(sig.MIMEType, sig.Payload)
	layer.Annotations = sig.Annotations
	cfg := put(oci.MediaTypeImageConfig, []byte(`{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["`+layer.Digest.String()+`"]},"config":{}}`))
	m := manifest(cfg, []oci.Descriptor{layer}, nil, "", nil)
	v.LegacySig = sign.LegacyTag(v.Legacy, ".sig")
	tag(put(oci.MediaTypeImageManifest, m), v.LegacySig)

	// Bundle: the empty image and cosign's referrer layout of a bundle.
	put(oci.MediaTypeDockerConfig, read(t, "cosign/empty-image.config.json"))
	v.Bundle = put(oci.MediaTypeDockerManifest, read(t, "cosign/empty-image.manifest.json"))
	tag(v.Bundle, "empty")
	empty := put(oci.MediaTypeEmptyJSON, []byte("{}"))
	bl := put(sign.MediaTypeBundle, read(t, "cosign/oci-attestation.sigstore.json"))
	m = manifest(empty, []oci.Descriptor{bl}, &v.Bundle, sign.MediaTypeBundle, map[string]string{
		sign.AnnotationBundleContent:       "dsse-envelope",
		sign.AnnotationBundlePredicateType: BundlePredicateType,
		sign.AnnotationCreated:             "2025-02-28T19:18:12Z",
	})
	v.Referrer = put(oci.MediaTypeImageManifest, m)
	if err := fs.AddRoot(ctx, v.Referrer); err != nil {
		t.Fatal(err)
	}
	return v
}

// manifest is an OCI image manifest of config and layers, with a subject
// and artifactType when given.
func manifest(cfg oci.Descriptor, layers []oci.Descriptor, subj *oci.Descriptor, artifactType string, ann map[string]string) []byte {
	desc := func(d oci.Descriptor) map[string]any {
		m := map[string]any{"mediaType": d.MediaType, "digest": d.Digest, "size": d.Size}
		if len(d.Annotations) > 0 {
			m["annotations"] = d.Annotations
		}
		return m
	}
	m := map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": desc(cfg)}
	var ls []any
	for _, l := range layers {
		ls = append(ls, desc(l))
	}
	m["layers"] = ls
	if subj != nil {
		m["subject"] = desc(oci.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size})
	}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	if ann != nil {
		m["annotations"] = ann
	}
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return raw
}

// FlipB64 flips one bit of byte i (from the end when negative) of a base64
// string.
func FlipB64(s string, i int) string {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	if i < 0 {
		i += len(raw)
	}
	raw[i] ^= 1
	return base64.StdEncoding.EncodeToString(raw)
}
