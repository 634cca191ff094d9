package policy

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/notation"
	"github.com/stevedore-dev/stevedore/engine/sign/notation/notationtest"
)

// TestNotationRules: a rule naming a notation trust policy and trust store
// accepts an image notation-signed by the trusted signer for the checked
// repository, and refuses it for a repository the notation policy does not
// scope, signed by another signer, or unsigned.
func TestNotationRules(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	alice, mallory := notationtest.NewSigner(t, "alice"), notationtest.NewSigner(t, "mallory")
	alice.Write(t, filepath.Join(dir), "reg/notary/app", "reg/all/app")
	signer := newKey(t, dir, "signer")

	signed, other, unsigned := newLayout(t, "signed"), newLayout(t, "other"), newLayout(t, "unsigned")
	for l, s := range map[any]*notationtest.Signer{signed: alice, other: mallory} {
		ns, err := notation.NewSigner(s.Key, s.Chain, notation.SignerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sign.Sign(ctx, l.(sign.Repo), "v1", nil, sign.SignOptions{Format: sign.FormatNotation, Notation: ns}); err != nil {
			t.Fatal(err)
		}
	}
	doc := `
repositories:
  - pattern: reg/notary/*
    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}
  - pattern: reg/unscoped/*
    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}
  - pattern: reg/all/*
    keys: [signer.pub]
    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}
    require: all
`
	pol, err := Parse([]byte(doc), dir, Verifiers{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		src    sign.Repo
		repo   string
		denied bool
	}{
		{"signed by the trusted signer", signed, "reg/notary/app", false},
		{"signed by another", other, "reg/notary/app", true},
		{"unsigned", unsigned, "reg/notary/app", true},
		{"no notation statement for the repository", signed, "reg/unscoped/app", true},
		{"all: notation without the key", signed, "reg/all/app", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pol.Check(ctx, tt.src, "v1", tt.repo)
			if tt.denied != (err != nil) {
				t.Fatalf("Check = %v, denied %v", err, tt.denied)
			}
			if tt.denied && !errors.Is(err, errdef.ErrDenied) {
				t.Fatalf("Check = %v, want a refusal", err)
			}
		})
	}
	if _, err := sign.Sign(ctx, signed, "v1", signer.Key, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Check(ctx, signed, "v1", "reg/all/app"); err != nil {
		t.Errorf("all: notation and the key: %v", err)
	}

	for name, doc := range map[string]string{
		"no trust store":      "repositories:\n- pattern: a/b\n  notation: {trustPolicy: trustpolicy.json}\n",
		"missing policy file": "repositories:\n- pattern: a/b\n  notation: {trustPolicy: nope.json, trustStore: truststore}\n",
		"with predicateType":  "repositories:\n- pattern: a/b\n  notation: {trustPolicy: trustpolicy.json, trustStore: truststore}\n  predicateType: https://slsa.dev/provenance/v1\n",
		"with require: none":  "repositories:\n- pattern: a/b\n  notation: {trustPolicy: trustpolicy.json, trustStore: truststore}\n  require: none\n",
	} {
		if _, err := Parse([]byte(doc), dir, Verifiers{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
