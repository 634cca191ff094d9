package service

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TLS holds the TLS settings of the three listeners of `stevedore serve`.
type TLS struct {
	// HTTP is for the registry and REST listeners.
	HTTP *tls.Config
	// GRPC is for the gRPC listener; it demands a client certificate when
	// a client CA was given.
	GRPC *tls.Config
	// GatewayDial is the dial option the REST gateway reaches the gRPC
	// listener with.
	GatewayDial grpc.DialOption
}

// NewTLS loads the serving certificate and key (PEM files) and, when
// clientCAFile is not empty, the CAs (PEM) whose client certificates the
// gRPC listener requires (mTLS).
func NewTLS(certFile, keyFile, clientCAFile string) (*TLS, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	t := &TLS{
		HTTP: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
		GRPC: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	// The gateway dials its own process over loopback: rather than check
	// the certificate against a CA and a host name the listen address may
	// not match, it accepts exactly the certificate this server serves.
	leaf := cert.Certificate[0]
	dial := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the exact match below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], leaf) {
				return errors.New("gateway: the gRPC listener does not serve this server's certificate")
			}
			return nil
		},
	}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS client CA %s: no PEM certificate in it", clientCAFile)
		}
		// The gateway is a client too. Rather than require the operator's
		// CA to issue it a certificate, it gets a throwaway one made at
		// start, trusted for this process's lifetime only.
		gw, gwCert, err := selfSignedClient()
		if err != nil {
			return nil, err
		}
		pool.AddCert(gwCert)
		t.GRPC.ClientAuth = tls.RequireAndVerifyClientCert
		t.GRPC.ClientCAs = pool
		dial.Certificates = []tls.Certificate{gw}
	}
	t.GatewayDial = grpc.WithTransportCredentials(credentials.NewTLS(dial))
	return t, nil
}

// selfSignedClient makes a client certificate and key that live in memory
// only; its validity spans any plausible uptime, since renewing it would
// need a restart anyway.
func selfSignedClient() (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "stevedore-gateway"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, c, nil
}
