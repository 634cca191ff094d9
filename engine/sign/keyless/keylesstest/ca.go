package keylesstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fulcio's OIDC issuer extensions: .1.1 holds the raw string (deprecated),
// .1.8 a DER UTF8String.
// https://github.com/sigstore/fulcio/blob/v1.6.6/docs/oid-info.md
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// CA is a private certificate authority for tests: a root and an
// intermediate that issues code-signing certificates carrying a SAN and
// Fulcio's OIDC issuer extension, as cosign's and our --certificate-chain
// verification expects.
type CA struct {
	root, inter       *x509.Certificate
	interKey          *ecdsa.PrivateKey
	RootPEM, InterPEM []byte
}

// NewCA makes a root and an intermediate valid for a day either side of now.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	rootKey := newKey(t)
	ca := &CA{interKey: newKey(t)}
	ca.root, ca.RootPEM = issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " root"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}, nil, &rootKey.PublicKey, rootKey)
	ca.inter, ca.InterPEM = issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " intermediate"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, ca.root, &ca.interKey.PublicKey, rootKey)
	return ca
}

// TrustedRootJSON is a Sigstore trusted root whose only certificate
// authority is this CA (no logs, no timestamp authorities): what cosign
// verifies bundles made with its certificates against.
func (ca *CA) TrustedRootJSON() []byte {
	raw := func(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }
	return []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[],"ctlogs":[],"timestampAuthorities":[],` +
		`"certificateAuthorities":[{"subject":{"organization":"stevedore","commonName":"test"},"uri":"https://ca.example.com",` +
		`"certChain":{"certificates":[{"rawBytes":"` + raw(ca.inter) + `"},{"rawBytes":"` + raw(ca.root) + `"}]},"validFor":{"start":"2020-01-01T00:00:00Z"}}]}`)
}

// ChainPEM is the intermediate then the root: what --certificate-chain takes.
func (ca *CA) ChainPEM() []byte { return append(append([]byte(nil), ca.InterPEM...), ca.RootPEM...) }

// Issue certifies pub for subject (an email, or a URI when it has a
// scheme) as vouched for by the OIDC issuer.
func (ca *CA) Issue(t testing.TB, pub crypto.PublicKey, subject, issuer string) []byte {
	t.Helper()
	v2, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(issuer)},
			{Id: oidIssuerV2, Value: v2},
		},
	}
	if strings.Contains(subject, "://") {
		u, err := url.Parse(subject)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{subject}
	}
	_, p := issue(t, tmpl, ca.inter, pub, ca.interKey)
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs tmpl (self-signed when parent is nil) and returns it parsed
// and as PEM.
func issue(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
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
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
