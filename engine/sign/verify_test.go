package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// TestCosignSamples: every signature and attestation cosign v3.1.3 made
// verifies with cosign.pub, in both formats, and with no other key.
func TestCosignSamples(t *testing.T) {
	ctx := context.Background()
	x := newLay(t)
	x.addCosignSamples(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const attType = "https://example.com/stevedore/test/v1"
	tests := []struct {
		name    string
		att     bool
		opts    VerifyOptions
		want    bool
		formats []Format // of the findings, in order
	}{
		{"signatures, any format", false, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}}, true, []Format{FormatBundle, FormatLegacy}},
		{"bundle only", false, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}, Format: FormatBundle}, true, []Format{FormatBundle}},
		{"legacy only", false, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}, Format: FormatLegacy}, true, []Format{FormatLegacy}},
		{"second of two keys", false, VerifyOptions{Keys: []crypto.PublicKey{&other.PublicKey, samplePub(t)}}, true, []Format{FormatBundle, FormatLegacy}},
		{"wrong key", false, VerifyOptions{Keys: []crypto.PublicKey{&other.PublicKey}}, false, []Format{FormatBundle, FormatLegacy}},
		{"annotation not signed", false, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}, Annotations: map[string]string{"a": "b"}}, false, []Format{FormatBundle, FormatLegacy}},
		{"attestations", true, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}, PredicateType: attType}, true, []Format{FormatBundle, FormatLegacy}},
		{"attestations, any type", true, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}}, true, []Format{FormatBundle, FormatLegacy}},
		{"attestations of another type", true, VerifyOptions{Keys: []crypto.PublicKey{samplePub(t)}, PredicateType: "https://slsa.dev/provenance/v1"}, false, nil},
		{"attestations, wrong key", true, VerifyOptions{Keys: []crypto.PublicKey{&other.PublicKey}, PredicateType: attType}, false, []Format{FormatBundle, FormatLegacy}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			verifyFn := Verify
			if tc.att {
				verifyFn = VerifyAttestation
			}
			rep, err := verifyFn(ctx, x.l, "v1", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []Format
			for _, f := range rep.Findings {
				got = append(got, f.Format)
				if f.Verified != tc.want || (!f.Verified && f.Reason == "") {
					t.Errorf("finding %+v, want verified=%v with a reason when not", f, tc.want)
				}
			}
			if rep.Verified != tc.want || len(got) != len(tc.formats) || (tc.want && rep.Err() != nil) || (!tc.want && rep.Err() == nil) {
				t.Fatalf("report %+v (err %v), want verified=%v formats %v", rep, rep.Err(), tc.want, tc.formats)
			}
			for i := range got {
				if got[i] != tc.formats[i] {
					t.Errorf("formats %v, want %v", got, tc.formats)
				}
			}
		})
	}
	tree, err := ListTree(ctx, x.l, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Signatures) != 2 || len(tree.Attestations) != 2 || len(tree.SBOMs) != 0 || len(tree.Other) != 0 {
		t.Errorf("tree %+v", tree)
	}
}

// TestTamper: each forgery is found and rejected with its reason.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	key := samplePriv(t)
	keys := []crypto.PublicKey{&key.PublicKey}
	now := time.Unix(0, 0)
	sampleBundle := func(t *testing.T) bundle {
		var b bundle
		if err := json.Unmarshal(sample(t, "bundle-sign/bundle.sigstore.json"), &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	// attach stores b as a bundle referrer of subj with the given predicate
	// type annotation.
	attach := func(t *testing.T, x *lay, subj oci.Descriptor, b bundle, pt string) {
		raw, _ := marshalCompact(&b)
		x.put(t, oci.MediaTypeEmptyJSON, emptyJSON)
		l := x.put(t, MediaTypeBundle, raw)
		s := wireDesc{MediaType: subj.MediaType, Size: subj.Size, Digest: subj.Digest}
		m, _ := marshalCompact(&wireManifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageManifest, Config: toWire(blobDesc(oci.MediaTypeEmptyJSON, emptyJSON)),
			Layers: []wireDesc{toWire(l)}, Annotations: map[string]string{AnnotationBundlePredicateType: pt}, Subject: &s, ArtifactType: MediaTypeBundle})
		x.root(t, m)
	}
	signedBundle := func(t *testing.T, stmt []byte) bundle {
		env, err := signDSSE(key, PayloadTypeInToto, stmt)
		if err != nil {
			t.Fatal(err)
		}
		var b bundle
		b.MediaType = MediaTypeBundle
		b.DSSEEnvelope = env
		return b
	}
	// legacy stores a .sig manifest for subj holding payload and sig.
	legacy := func(t *testing.T, x *lay, subj oci.Descriptor, payload []byte, sig []byte) {
		l := blobDesc(MediaTypeSimpleSigning, payload)
		l.Annotations = map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)}
		if _, err := appendLegacy(ctx, x.l, LegacyTag(subj, ".sig"), l, payload); err != nil {
			t.Fatal(err)
		}
	}
	other := digest.FromString("another image")
	tests := []struct {
		name   string
		setup  func(t *testing.T, x *lay)
		reason string
	}{
		{"bundle: changed payload byte", func(t *testing.T, x *lay) {
			b := sampleBundle(t)
			p, _ := decodeB64(b.DSSEEnvelope.Payload)
			p[len(p)-3] = ' '
			b.DSSEEnvelope.Payload = base64.StdEncoding.EncodeToString(p)
			attach(t, x, x.image, b, PredicateSign)
		}, "does not verify"},
		{"bundle: changed signature byte", func(t *testing.T, x *lay) {
			b := sampleBundle(t)
			s, _ := decodeB64(b.DSSEEnvelope.Signatures[0].Sig)
			s[len(s)-1] ^= 1
			b.DSSEEnvelope.Signatures[0].Sig = base64.StdEncoding.EncodeToString(s)
			attach(t, x, x.image, b, PredicateSign)
		}, "does not verify"},
		{"bundle: signature for another digest", func(t *testing.T, x *lay) {
			stmt, _ := signStatement(other, nil)
			attach(t, x, x.image, signedBundle(t, stmt), PredicateSign)
		}, "another image"},
		{"bundle: swapped subject", func(t *testing.T, x *lay) {
			// cosign's genuine bundle for the sample image, attached to another image.
			img := pushImage(t, x.l, "v2", "other layer")
			if err := x.fs.Tag(ctx, img, "v1"); err != nil {
				t.Fatal(err)
			}
			attach(t, x, img, sampleBundle(t), PredicateSign)
		}, "no statement subject"},
		{"bundle: two signatures", func(t *testing.T, x *lay) {
			b := sampleBundle(t)
			second, _ := signDSSE(key, PayloadTypeInToto, []byte("x"))
			b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, second.Signatures[0])
			attach(t, x, x.image, b, PredicateSign)
		}, "2 signatures"},
		{"bundle: attestation passed off as a signature", func(t *testing.T, x *lay) {
			stmt, _ := attestStatement("r", x.image.Digest, "https://example.com/x", []byte(`{}`))
			attach(t, x, x.image, signedBundle(t, stmt), PredicateSign)
		}, "manifest annotation says predicate type"},
		{"bundle: attestation without annotation", func(t *testing.T, x *lay) {
			stmt, _ := attestStatement("r", x.image.Digest, "https://example.com/x", []byte(`{}`))
			attach(t, x, x.image, signedBundle(t, stmt), "")
		}, "is not a cosign signature"},
		{"bundle: not DSSE", func(t *testing.T, x *lay) {
			b := sampleBundle(t)
			b.DSSEEnvelope, b.MessageSignature = nil, json.RawMessage(`{}`)
			attach(t, x, x.image, b, PredicateSign)
		}, "no DSSE envelope"},
		{"bundle: unknown media type", func(t *testing.T, x *lay) {
			b := sampleBundle(t)
			b.MediaType = "application/vnd.dev.sigstore.bundle.v0.4+json"
			attach(t, x, x.image, b, PredicateSign)
		}, "bundle media type"},
		{"legacy: changed payload byte", func(t *testing.T, x *lay) {
			p := sample(t, "legacy-sign/simplesigning-payload.json")
			var m struct {
				Layers []oci.Descriptor `json:"layers"`
			}
			_ = json.Unmarshal(sample(t, "legacy-sign/sig-manifest.json"), &m)
			sig, _ := decodeB64(m.Layers[0].Annotations[AnnotationSignature])
			p = []byte(strings.Replace(string(p), "demo/legacy", "demo/legacx", 1))
			legacy(t, x, x.image, p, sig)
		}, "does not verify"},
		{"legacy: signature for another digest", func(t *testing.T, x *lay) {
			p := []byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + other.String() + `"},"type":"cosign container image signature"},"optional":null}`)
			sig, _ := signBytes(key, p)
			legacy(t, x, x.image, p, sig)
		}, "another image"},
		{"legacy: wrong type", func(t *testing.T, x *lay) {
			p := []byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + x.image.Digest.String() + `"},"type":"something else"},"optional":null}`)
			sig, _ := signBytes(key, p)
			legacy(t, x, x.image, p, sig)
		}, "payload type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newLay(t)
			tc.setup(t, x)
			rep, err := Verify(ctx, x.l, "v1", VerifyOptions{Keys: keys, Annotations: nil})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verified || len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Reason, tc.reason) {
				t.Fatalf("report %+v, want one rejected finding mentioning %q", rep, tc.reason)
			}
			if err := rep.Err(); err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Err() = %v", err)
			}
		})
	}
	_ = now
}
