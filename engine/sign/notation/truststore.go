package notation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/notaryproject/notation-go/verifier/truststore"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// TrustStore is notation's X.509 trust store, held in memory: named stores
// of type ca, signingAuthority or tsa, each a list of certificates, as a
// trust policy's trustStores entries ("ca:acme-rabbit") name them.
//
// Notary Project trust store and trust policy specification v1.1.0 §Trust Store:
// https://github.com/notaryproject/specifications/blob/v1.1.0/specs/trust-store-trust-policy.md#trust-store
type TrustStore struct {
	stores map[string][]*x509.Certificate
}

var _ truststore.X509TrustStore = (*TrustStore)(nil)

// storeName is notation's grammar for a named store.
var storeName = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// errNoStore ends the error of a trust store the policy names but the store
// lacks (classify tells the policy check by it).
const errNoStore = "does not exist or holds no certificate"

// maxCertFile bounds one certificate file; a chain is a few kilobytes.
const maxCertFile = 1 << 20

// NewTrustStore returns an empty trust store.
func NewTrustStore() *TrustStore { return &TrustStore{stores: map[string][]*x509.Certificate{}} }

// LoadTrustStore reads a trust store directory laid out as notation's:
// DIR/x509/{ca,signingAuthority,tsa}/NAME/FILE, each file PEM or DER
// certificates. Like notation it refuses symlinks and nested directories.
func LoadTrustStore(dir string) (*TrustStore, error) {
	s := NewTrustStore()
	for _, typ := range truststore.Types {
		tdir := filepath.Join(dir, "x509", string(typ))
		names, err := os.ReadDir(tdir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		for _, n := range names {
			if !n.IsDir() {
				return nil, fmt.Errorf("trust store %s: %s is not a directory (symlinks are not followed): %w", tdir, n.Name(), errdef.ErrInvalid)
			}
			files, err := os.ReadDir(filepath.Join(tdir, n.Name()))
			if err != nil {
				return nil, fmt.Errorf("trust store: %w", err)
			}
			for _, f := range files {
				p := filepath.Join(tdir, n.Name(), f.Name())
				if !f.Type().IsRegular() {
					return nil, fmt.Errorf("trust store: %s is not a regular file (directories and symlinks are not supported): %w", p, errdef.ErrInvalid)
				}
				raw, err := readBounded(p)
				if err != nil {
					return nil, fmt.Errorf("trust store: %w", err)
				}
				if err := s.Add(string(typ), n.Name(), raw); err != nil {
					return nil, fmt.Errorf("trust store: %s: %w", p, err)
				}
			}
		}
	}
	return s, nil
}

// readBounded reads a certificate file, refusing one too large to be one.
func readBounded(p string) ([]byte, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if len(raw) > maxCertFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", p, maxCertFile, errdef.ErrTooLarge)
	}
	return raw, nil
}

// Add adds the certificates of file (PEM, or DER) to the store typ:name,
// checked as notation checks them: CA or self-signed certificates, and
// root CAs only in a tsa store.
func (s *TrustStore) Add(typ, name string, file []byte) error {
	if !isStoreType(typ) {
		return fmt.Errorf("trust store type %q (want ca, signingAuthority or tsa): %w", typ, errdef.ErrInvalid)
	}
	if !storeName.MatchString(name) {
		return fmt.Errorf("trust store name %q (want [a-zA-Z0-9_.-]+): %w", name, errdef.ErrInvalid)
	}
	certs, err := parseCerts(file)
	if err != nil {
		return fmt.Errorf("%s:%s: %v: %w", typ, name, err, errdef.ErrInvalid)
	}
	if err := truststore.ValidateCertificates(certs); err != nil {
		return fmt.Errorf("%s:%s: %v: %w", typ, name, err, errdef.ErrInvalid)
	}
	if typ == string(truststore.TypeTSA) {
		for _, c := range certs {
			if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
				return fmt.Errorf("%s:%s: certificate %q is not a root CA certificate: %w", typ, name, c.Subject, errdef.ErrInvalid)
			}
		}
	}
	s.stores[typ+":"+name] = append(s.stores[typ+":"+name], certs...)
	return nil
}

// GetCertificates returns the certificates of the store typ:name.
func (s *TrustStore) GetCertificates(_ context.Context, typ truststore.Type, name string) ([]*x509.Certificate, error) {
	certs := s.stores[string(typ)+":"+name]
	if len(certs) == 0 {
		return nil, truststore.TrustStoreError{Msg: fmt.Sprintf("the trust store %q of type %q %s", name, typ, errNoStore)}
	}
	return certs, nil
}

func isStoreType(typ string) bool {
	for _, t := range truststore.Types {
		if string(t) == typ {
			return true
		}
	}
	return false
}

// parseCerts reads PEM CERTIFICATE blocks or, without any, DER.
func parseCerts(raw []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(raw, []byte("-----BEGIN")) {
		return x509.ParseCertificates(raw)
	}
	var out []*x509.Certificate
	for rest := raw; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate")
	}
	return out, nil
}
