package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// TestRoundTrip signs and attests in both formats on every endpoint, and
// verifies, lists and re-signs what was written.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	k1 := samplePriv(t)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	both := []crypto.PublicKey{&k1.PublicKey}
	only2 := []crypto.PublicKey{&k2.PublicKey}
	const attType = "https://example.com/provenance/v1"
	fixed := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			repo, img := ep.new(t)
			ann := map[string]string{"env": "prod"}
			for _, f := range []Format{FormatBundle, FormatLegacy} {
				res, err := Sign(ctx, repo, "v1", k1, SignOptions{Format: f, Annotations: ann, Identity: "example/repo", Now: fixed})
				if err != nil {
					t.Fatalf("sign %s: %v", f, err)
				}
				if len(res) != 1 || res[0].Subject.Digest != img.Digest || res[0].Format != f {
					t.Fatalf("sign %s: %+v", f, res)
				}
			}
			// The legacy manifest grows with a second key's signature.
			if _, err := Sign(ctx, repo, img.Digest.String(), k2, SignOptions{Format: FormatLegacy}); err != nil {
				t.Fatal(err)
			}
			check := func(name string, opts VerifyOptions, want bool, findings int) {
				t.Helper()
				rep, err := Verify(ctx, repo, "v1", opts)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Verified != want || len(rep.Findings) != findings {
					b, _ := json.MarshalIndent(rep, "", " ")
					t.Errorf("%s: %s; want verified=%v with %d findings", name, b, want, findings)
				}
			}
			check("k1", VerifyOptions{Keys: both}, true, 3)
			check("k1 bundle", VerifyOptions{Keys: both, Format: FormatBundle}, true, 1)
			check("k1 with annotation", VerifyOptions{Keys: both, Annotations: ann}, true, 3)
			check("k1 with wrong annotation", VerifyOptions{Keys: both, Annotations: map[string]string{"env": "dev"}}, false, 3)
			check("k2 legacy", VerifyOptions{Keys: only2, Format: FormatLegacy}, true, 2)
			check("k2 bundle", VerifyOptions{Keys: only2, Format: FormatBundle}, false, 1)

			pred := []byte(`{"builder": {"id": "stevedore-test"}}`)
			for _, f := range []Format{FormatBundle, FormatLegacy} {
				if _, err := Attest(ctx, repo, "v1", k1, AttestOptions{Format: f, PredicateType: attType, Predicate: pred, Identity: "example/repo", Now: fixed}); err != nil {
					t.Fatalf("attest %s: %v", f, err)
				}
			}
			rep, err := VerifyAttestation(ctx, repo, "v1", VerifyOptions{Keys: both, PredicateType: attType})
			if err != nil || !rep.Verified || len(rep.Findings) != 2 {
				t.Errorf("verify-attestation: %+v, %v", rep, err)
			}
			rep, err = VerifyAttestation(ctx, repo, "v1", VerifyOptions{Keys: only2, PredicateType: attType})
			if err != nil || rep.Verified {
				t.Errorf("verify-attestation with the wrong key: %+v, %v", rep, err)
			}
			// None of another type: the verdict says so (it used to say
			// "no signatures found").
			const otherType = "https://example.com/other/v1"
			rep, err = VerifyAttestation(ctx, repo, "v1", VerifyOptions{Keys: both, PredicateType: otherType, Format: FormatBundle})
			if err != nil || rep.Verified || rep.Err() == nil || !strings.Contains(rep.Err().Error(), "no attestations of type "+otherType+" found") {
				t.Errorf("verify-attestation of another type: %+v, %v, verdict %v", rep, err, rep.Err())
			}
			// Attestations are not signatures.
			check("k1 after attest", VerifyOptions{Keys: both}, true, 3)

			tree, err := ListTree(ctx, repo, "v1")
			if err != nil {
				t.Fatal(err)
			}
			if len(tree.Signatures) != 2 || len(tree.Attestations) != 2 || len(tree.Signatures[1].Layers) != 2 {
				t.Errorf("tree %+v", tree)
			}
			if r, ok := repo.(*registry.Repository); ok && ep.name != "registry" {
				// No referrers API: the tag schema index lists both bundles.
				idx, err := r.Resolve(ctx, transport.FallbackTag(img))
				if err != nil || idx.MediaType != oci.MediaTypeImageIndex {
					t.Errorf("tag schema index: %v %v", idx, err)
				}
			}
		})
	}
}

// TestSignRecursive signs an index and each of its manifests.
func TestSignRecursive(t *testing.T) {
	ctx := context.Background()
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			repo, img := ep.new(t)
			img2 := pushImage(t, repo, "v2", "arm64 layer")
			idxRaw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{
				{MediaType: img.MediaType, Digest: img.Digest, Size: img.Size, Platform: &oci.Platform{OS: "linux", Architecture: "amd64"}},
				{MediaType: img2.MediaType, Digest: img2.Digest, Size: img2.Size, Platform: &oci.Platform{OS: "linux", Architecture: "arm64"}},
			}})
			idx := blobDesc(oci.MediaTypeImageIndex, idxRaw)
			if err := put(ctx, repo, idx, idxRaw); err != nil {
				t.Fatal(err)
			}
			if err := repo.Tag(ctx, idx, "multi"); err != nil {
				t.Fatal(err)
			}
			key := samplePriv(t)
			res, err := Sign(ctx, repo, "multi", key, SignOptions{Recursive: true})
			if err != nil || len(res) != 3 {
				t.Fatalf("%+v, %v", res, err)
			}
			for _, d := range []digest.Digest{idx.Digest, img.Digest, img2.Digest} {
				rep, err := Verify(ctx, repo, d.String(), VerifyOptions{Keys: []crypto.PublicKey{&key.PublicKey}})
				if err != nil || !rep.Verified {
					t.Errorf("%s: %+v %v", d, rep, err)
				}
			}
		})
	}
}

// TestBadRequests: what Sign, Attest and Verify refuse before any I/O.
func TestBadRequests(t *testing.T) {
	ctx := context.Background()
	x := newLay(t)
	key := samplePriv(t)
	if _, err := Sign(ctx, x.l, "v1", key, SignOptions{Format: "jws"}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("bad format: %v", err)
	}
	if _, err := Sign(ctx, x.l, "nope", key, SignOptions{}); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("missing tag: %v", err)
	}
	if _, err := Attest(ctx, x.l, "v1", key, AttestOptions{PredicateType: "t", Predicate: []byte("{")}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("bad predicate: %v", err)
	}
	if _, err := Attest(ctx, x.l, "v1", key, AttestOptions{Predicate: []byte("{}")}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("no type: %v", err)
	}
	if _, err := Verify(ctx, x.l, "v1", VerifyOptions{}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("no keys: %v", err)
	}
	rep, err := Verify(ctx, x.l, "v1", VerifyOptions{Keys: []crypto.PublicKey{&key.PublicKey}})
	if err != nil || rep.Verified || !errors.Is(rep.Err(), ErrUnverified) {
		t.Errorf("unsigned: %+v %v", rep, err)
	}
}
