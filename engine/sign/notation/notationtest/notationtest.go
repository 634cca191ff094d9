// Package notationtest makes Notary Project material for tests: the real
// signatures of notation/testdata stored in an OCI layout as notation
// stores them, and a private CA with a code-signing key and chain in
// notation's file formats, with a trust store and trust policy that trust
// them.
package notationtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Signer is a code-signing key certified by its own test root CA.
type Signer struct {
	// Name is the leaf's common name (and the trust store's name).
	Name string
	// Key is the leaf's private key.
	Key *ecdsa.PrivateKey
	// Chain is the leaf then the root.
	Chain []*x509.Certificate
	// KeyPEM is the key as notation stores it (PKCS #8 PEM).
	KeyPEM []byte
	// ChainPEM is the chain as notation's certificate file holds it.
	ChainPEM []byte
	// RootPEM is the root alone: what a trust store holds.
	RootPEM []byte
}

// Identity is the trusted identity (x509.subject) the leaf matches.
func (s *Signer) Identity() string {
	return "x509.subject: C=US, ST=WA, O=stevedore test, CN=" + s.Name
}

// Subject is the leaf's subject as verification reports it.
func (s *Signer) Subject() string { return s.Chain[0].Subject.String() }

// NewSigner makes a root CA and a leaf for name, valid a day either side
// of now.
func NewSigner(t testing.TB, name string) *Signer {
	t.Helper()
	rootKey, leafKey := newKey(t), newKey(t)
	root := issue(t, &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"stevedore test"}, CommonName: name + " root"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, &rootKey.PublicKey, rootKey)
	leaf := issue(t, &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"stevedore test"}, CommonName: name},
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, root, &leafKey.PublicKey, rootKey)
	der, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	s := &Signer{Name: name, Key: leafKey, Chain: []*x509.Certificate{leaf, root},
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		RootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})}
	s.ChainPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), s.RootPEM...)
	return s
}

// Files are the signing material and trust configuration written to disk.
type Files struct {
	// Key and Chain are the signer's key and certificate chain files.
	Key, Chain string
	// TrustPolicy is a trustpolicy.json trusting the signer for the
	// scopes; TrustStore the directory holding x509/ca/NAME/root.pem.
	TrustPolicy, TrustStore string
}

// Write writes the signer's files under dir, with a trust policy named
// after the signer that requires its identity for scopes (registryScopes:
// HOST/REPO, or "*").
func (s *Signer) Write(t testing.TB, dir string, scopes ...string) Files {
	t.Helper()
	f := Files{Key: filepath.Join(dir, s.Name+".key"), Chain: filepath.Join(dir, s.Name+".crt"),
		TrustPolicy: filepath.Join(dir, "trustpolicy.json"), TrustStore: filepath.Join(dir, "truststore")}
	store := filepath.Join(f.TrustStore, "x509", "ca", s.Name)
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	policy, err := json.MarshalIndent(Policy(s.Name, s.Identity(), scopes...), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{f.Key: s.KeyPEM, f.Chain: s.ChainPEM, filepath.Join(store, "root.pem"): s.RootPEM, f.TrustPolicy: policy} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// Policy is a trust policy document with one strict statement trusting the
// ca store named store for identity in scopes.
func Policy(store, identity string, scopes ...string) map[string]any {
	return map[string]any{"version": "1.0", "trustPolicies": []any{map[string]any{
		"name": store, "registryScopes": scopes,
		"signatureVerification": map[string]any{"level": "strict"},
		"trustStores":           []string{"ca:" + store}, "trustedIdentities": []string{identity},
	}}}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs tmpl (self-signed when parent is nil).
func issue(t testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-24 * time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestData returns the path of a file of notation/testdata.
func TestData(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// The real vectors' subject and signer (see testdata/README.md).
const (
	// VectorTag tags the image the real JWS and COSE vectors sign (only
	// its manifest is present, not its blobs).
	VectorTag = "v2"
	// VectorScope is the trust policy scope testdata/trustpolicy.json
	// trusts the vectors' signer for.
	VectorScope = "registry.example/alpine"
	// VectorSigner is the vectors' signing certificate subject.
	VectorSigner = "CN=alpine,O=Notary,L=Seattle,ST=WA,C=US"
)

// Vectors is a layout holding the image the real vectors sign and their
// signature manifests, stored as notation stores them.
type Vectors struct {
	// Dir is the layout.
	Dir string
	// Subject is the signed image manifest.
	Subject oci.Descriptor
	// JWS and COSE are the signature manifests.
	JWS, COSE oci.Descriptor
}

// WriteVectors creates the layout at dir.
func WriteVectors(t testing.TB, dir string) *Vectors {
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
	v := &Vectors{Dir: dir, Subject: put(oci.MediaTypeImageManifest, read(t, "alpine-manifest.json"))}
	if err := fs.Tag(ctx, v.Subject, VectorTag); err != nil {
		t.Fatal(err)
	}
	cfg := put(sign.ArtifactTypeNotation, []byte("{}"))
	for _, e := range []struct {
		file, mediaType string
		out             *oci.Descriptor
	}{{"jws_signature.sig", sign.MediaTypeJWS, &v.JWS}, {"cose_signature.sig", sign.MediaTypeCOSE, &v.COSE}} {
		m := SignatureManifest(cfg, put(e.mediaType, read(t, e.file)), v.Subject)
		*e.out = put(oci.MediaTypeImageManifest, m)
		if err := fs.AddRoot(ctx, *e.out); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// SignatureManifest is a notation signature manifest (as notation-go's
// registry package packs one) of envelope for subject.
func SignatureManifest(cfg, envelope, subject oci.Descriptor) []byte {
	desc := func(d oci.Descriptor) map[string]any {
		return map[string]any{"mediaType": d.MediaType, "digest": d.Digest, "size": d.Size}
	}
	raw, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest,
		"config": desc(cfg), "layers": []any{desc(envelope)}, "subject": desc(subject),
		"annotations": map[string]string{"org.opencontainers.image.created": "2023-03-14T08:10:02Z"},
	})
	if err != nil {
		panic(err)
	}
	return raw
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(TestData(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
