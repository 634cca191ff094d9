package service

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless"
	"github.com/stevedore-dev/stevedore/engine/sign/notation"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// maxDecrypts bounds the private keys being decrypted at once: each scrypt
// run takes 64 MiB and a good fraction of a second, so unbounded Sign calls
// would let callers exhaust the server's memory.
const maxDecrypts = 2

// maxPredicate bounds an attestation's predicate; provenance documents are
// kilobytes, and the statement must stay under the manifest bound.
const maxPredicate = 1 << 20

// SignServer implements stevedore.v1.SignService over an engine and the
// server's key directory.
type SignServer struct {
	stevedorev1.UnimplementedSignServiceServer
	eng      *engine.Engine
	keys     *KeyDir
	decrypts chan struct{}
}

var _ stevedorev1.SignServiceServer = (*SignServer)(nil)

// engine is the server's engine acting as the RPC's caller.
func (s *SignServer) engine(ctx context.Context) *engine.Engine { return engineFor(ctx, s.eng) }

// NewSignServer returns a SignServer signing with the keys of keyDir.
func NewSignServer(eng *engine.Engine, keyDir string) *SignServer {
	return &SignServer{eng: eng, keys: NewKeyDir(keyDir), decrypts: make(chan struct{}, maxDecrypts)}
}

// GenerateKeyPair creates a key pair in the key directory.
func (s *SignServer) GenerateKeyPair(ctx context.Context, req *stevedorev1.GenerateKeyPairRequest) (*stevedorev1.GenerateKeyPairResponse, error) {
	if req.GetPassword() == "" {
		return nil, status.Error(codes.InvalidArgument, "a password is required: the private key is stored encrypted with it")
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	id, kp, err := s.keys.Generate(req.GetKeyId(), []byte(req.GetPassword()))
	if err != nil {
		return nil, keyStatus(err)
	}
	return &stevedorev1.GenerateKeyPairResponse{KeyId: id, PublicKeyPem: string(kp.PublicPEM), KeyHint: sign.KeyHint(kp.Key.Public())}, nil
}

// Sign signs the image req.Ref names.
func (s *SignServer) Sign(ctx context.Context, req *stevedorev1.SignRequest) (*stevedorev1.SignResponse, error) {
	f, err := signFormat(req.GetFormat())
	if err != nil {
		return nil, err
	}
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	signer, err := s.signer(ctx, req.GetKeyId(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).Sign(ctx, ref, signer, sign.SignOptions{Format: f, Annotations: req.GetAnnotations(), Recursive: req.GetRecursive()})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	out := &stevedorev1.SignResponse{}
	for i := range res {
		out.Signatures = append(out.Signatures, signatureProto(&res[i]))
	}
	return out, nil
}

// Attest attaches a signed statement carrying req.Predicate to the image.
func (s *SignServer) Attest(ctx context.Context, req *stevedorev1.AttestRequest) (*stevedorev1.AttestResponse, error) {
	f, err := signFormat(req.GetFormat())
	if err != nil {
		return nil, err
	}
	if len(req.GetPredicate()) > maxPredicate {
		return nil, status.Errorf(codes.InvalidArgument, "the predicate is larger than %d bytes", maxPredicate)
	}
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	signer, err := s.signer(ctx, req.GetKeyId(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).Attest(ctx, ref, signer, sign.AttestOptions{
		PredicateType: req.GetPredicateType(), Predicate: []byte(req.GetPredicate()), Format: f,
	})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.AttestResponse{Attestation: signatureProto(res)}, nil
}

// verifyRequest is what VerifyRequest and VerifyAttestationRequest share.
type verifyRequest interface {
	GetRef() string
	GetPublicKeys() []string
	GetKeyIds() []string
	GetFormat() stevedorev1.SignatureFormat
	GetAnnotations() map[string]string
	GetCertificateIdentities() []*stevedorev1.CertificateIdentity
	GetCertificateTrust() *stevedorev1.CertificateTrust
}

// Verify checks the signatures of the image req.Ref names. The verdict is
// in the response; only a failure to look is an error.
func (s *SignServer) Verify(ctx context.Context, req *stevedorev1.VerifyRequest) (*stevedorev1.VerifyResponse, error) {
	rep, err := s.verify(ctx, req, false, "", req.GetNotationTrust())
	if err != nil {
		return nil, err
	}
	return &stevedorev1.VerifyResponse{Verified: rep.Verified, Subject: descriptor(rep.Subject), Findings: findingsProto(rep.Findings)}, nil
}

// VerifyAttestation checks the attestations of the image req.Ref names.
func (s *SignServer) VerifyAttestation(ctx context.Context, req *stevedorev1.VerifyAttestationRequest) (*stevedorev1.VerifyAttestationResponse, error) {
	rep, err := s.verify(ctx, req, true, req.GetPredicateType(), nil)
	if err != nil {
		return nil, err
	}
	return &stevedorev1.VerifyAttestationResponse{Verified: rep.Verified, Subject: descriptor(rep.Subject), Findings: findingsProto(rep.Findings)}, nil
}

func (s *SignServer) verify(ctx context.Context, req verifyRequest, att bool, predicateType string, nt *stevedorev1.NotationTrust) (*sign.Report, error) {
	f, err := formatFromProto(req.GetFormat(), sign.FormatAny)
	if err != nil {
		return nil, err
	}
	opts := sign.VerifyOptions{Format: f, Annotations: req.GetAnnotations(), PredicateType: predicateType}
	for i, p := range req.GetPublicKeys() {
		k, err := sign.ParsePublicKey([]byte(p))
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "public_keys[%d]: %v", i, err)
		}
		opts.Keys, opts.KeyNames = append(opts.Keys, k), append(opts.KeyNames, fmt.Sprintf("public_keys[%d]", i))
	}
	for _, id := range req.GetKeyIds() {
		k, err := s.keys.PublicKey(id)
		if err != nil {
			return nil, keyStatus(err)
		}
		opts.Keys, opts.KeyNames = append(opts.Keys, k), append(opts.KeyNames, id)
	}
	for i, id := range req.GetCertificateIdentities() {
		sid := identityFromProto(id)
		if err := sid.Validate(); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "certificate_identities[%d]: %v", i, err)
		}
		opts.Identities = append(opts.Identities, sid)
	}
	tr := req.GetCertificateTrust()
	if len(opts.Identities) > 0 {
		if len(tr.GetTrustedRoot()) > maxTrustFile || len(tr.GetCertificateChain()) > maxTrustFile {
			return nil, status.Errorf(codes.InvalidArgument, "certificate_trust: trusted_root and certificate_chain are bounded to %d bytes", maxTrustFile)
		}
		t := sign.Trust{IgnoreTlog: tr.GetInsecureIgnoreTlog(), IgnoreSCT: tr.GetInsecureIgnoreSct()}
		if tr.GetTrustedRoot() != "" {
			t.TrustedRoot = []byte(tr.GetTrustedRoot())
		}
		if tr.GetCertificateChain() != "" {
			t.CertificateChain = []byte(tr.GetCertificateChain())
		}
		if opts.Certs, err = keyless.Load(t); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "certificate_trust: %v", err)
		}
	} else if tr != nil {
		return nil, status.Error(codes.InvalidArgument, "certificate_trust without certificate_identities: certificates are only trusted for an identity")
	}
	if nt != nil {
		if opts.Notation, err = notationVerifier(nt); err != nil {
			return nil, err
		}
		opts.Scope = nt.GetScope() // empty: the engine names the repository
	}
	if len(opts.Keys) == 0 && opts.Certs == nil && opts.Notation == nil {
		what := "public_keys, key_ids or certificate_identities"
		if !att {
			what += ", or notation_trust"
		}
		return nil, status.Error(codes.InvalidArgument, "nothing trusted: set "+what)
	}
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	verifyFn := s.engine(ctx).Verify
	if att {
		verifyFn = s.engine(ctx).VerifyAttestation
	}
	rep, err := verifyFn(ctx, ref, opts)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return rep, nil
}

// Tree lists what is attached to the image req.Ref names.
func (s *SignServer) Tree(ctx context.Context, req *stevedorev1.TreeRequest) (*stevedorev1.TreeResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	t, err := s.engine(ctx).SignatureTree(ctx, ref)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.TreeResponse{
		Subject:      descriptor(t.Subject),
		Signatures:   treeEntriesProto(t.Signatures),
		Attestations: treeEntriesProto(t.Attestations),
		Sboms:        treeEntriesProto(t.SBOMs),
		Other:        treeEntriesProto(t.Other),
	}, nil
}

// signer decrypts a key of the directory, a bounded number at a time.
func (s *SignServer) signer(ctx context.Context, id, password string) (crypto.Signer, error) {
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "key_id is required")
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	k, err := s.keys.Signer(id, []byte(password))
	if err != nil {
		return nil, keyStatus(err)
	}
	return k, nil
}

func (s *SignServer) acquire(ctx context.Context) error {
	select {
	case s.decrypts <- struct{}{}:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (s *SignServer) release() { <-s.decrypts }

// keyStatus converts a key directory failure. The class decides the code as
// everywhere, but no OCI code applies: the subject is a key, not content.
func keyStatus(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return toStatus(err, subjectRepository)
	}
	st := status.Convert(toStatus(err, subjectRepository))
	return status.Error(st.Code(), st.Message())
}

// signFormat is the format Sign and Attest write: bundle or legacy. The key
// directory holds cosign keys without certificate chains, so the notation
// format is the CLI's only.
func signFormat(f stevedorev1.SignatureFormat) (sign.Format, error) {
	if f == stevedorev1.SignatureFormat_SIGNATURE_FORMAT_NOTATION {
		return "", status.Error(codes.InvalidArgument, "SIGNATURE_FORMAT_NOTATION is verify-only here: the key directory holds no certificate chains (sign with `stevedore sign --format notation`)")
	}
	return formatFromProto(f, sign.FormatBundle)
}

// formatFromProto maps the wire format; unspecified means def.
func formatFromProto(f stevedorev1.SignatureFormat, def sign.Format) (sign.Format, error) {
	switch f {
	case stevedorev1.SignatureFormat_SIGNATURE_FORMAT_UNSPECIFIED:
		return def, nil
	case stevedorev1.SignatureFormat_SIGNATURE_FORMAT_BUNDLE:
		return sign.FormatBundle, nil
	case stevedorev1.SignatureFormat_SIGNATURE_FORMAT_LEGACY:
		return sign.FormatLegacy, nil
	case stevedorev1.SignatureFormat_SIGNATURE_FORMAT_NOTATION:
		return sign.FormatNotation, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "unknown signature format %d", f)
}

func formatProto(f sign.Format) stevedorev1.SignatureFormat {
	switch f {
	case sign.FormatBundle:
		return stevedorev1.SignatureFormat_SIGNATURE_FORMAT_BUNDLE
	case sign.FormatLegacy:
		return stevedorev1.SignatureFormat_SIGNATURE_FORMAT_LEGACY
	case sign.FormatNotation:
		return stevedorev1.SignatureFormat_SIGNATURE_FORMAT_NOTATION
	}
	return stevedorev1.SignatureFormat_SIGNATURE_FORMAT_UNSPECIFIED
}

func signatureProto(s *sign.Signed) *stevedorev1.Signature {
	return &stevedorev1.Signature{Subject: descriptor(s.Subject), Manifest: descriptor(s.Signature), Format: formatProto(s.Format), Tag: s.Tag}
}

func findingsProto(fs []sign.Finding) []*stevedorev1.Finding {
	out := make([]*stevedorev1.Finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, &stevedorev1.Finding{
			Format:        formatProto(f.Format),
			Manifest:      f.Manifest.String(),
			Tag:           f.Tag,
			Layer:         f.Layer.String(),
			PredicateType: f.PredicateType,
			Annotations:   f.Annotations,
			KeyHint:       f.KeyHint,
			Key:           f.KeyName,
			Verified:      f.Verified,
			Reason:        f.Reason,
			Certificate:   certificateProto(f.Certificate),
			Check:         f.Check,
			TrustPolicy:   f.TrustPolicy,
		})
	}
	return out
}

// notationVerifier builds the verifier of a request's notation trust; the
// policy and each store are bounded like the certificate trust files.
func notationVerifier(nt *stevedorev1.NotationTrust) (sign.NotationVerifier, error) {
	if len(nt.GetTrustPolicy()) > maxTrustFile {
		return nil, status.Errorf(codes.InvalidArgument, "notation_trust.trust_policy is bounded to %d bytes", maxTrustFile)
	}
	store := notation.NewTrustStore()
	for i, ts := range nt.GetTrustStore() {
		if len(ts.GetCertificates()) > maxTrustFile {
			return nil, status.Errorf(codes.InvalidArgument, "notation_trust.trust_store[%d].certificates is bounded to %d bytes", i, maxTrustFile)
		}
		if err := store.Add(ts.GetType(), ts.GetName(), []byte(ts.GetCertificates())); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "notation_trust.trust_store[%d]: %v", i, err)
		}
	}
	v, err := notation.New(notation.Options{TrustPolicy: []byte(nt.GetTrustPolicy()), TrustStore: store})
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "notation_trust: %v", err)
	}
	return v, nil
}

// maxTrustFile bounds a request's trusted root or CA chain (the public-good
// trusted_root.json is about 7 KiB).
const maxTrustFile = 1 << 20

func identityFromProto(id *stevedorev1.CertificateIdentity) sign.Identity {
	return sign.Identity{
		Subject: id.GetSubject(), SubjectRegexp: id.GetSubjectRegexp(), Issuer: id.GetIssuer(), IssuerRegexp: id.GetIssuerRegexp(),
		GitHubWorkflowTrigger: id.GetGithubWorkflowTrigger(), GitHubWorkflowSHA: id.GetGithubWorkflowSha(), GitHubWorkflowName: id.GetGithubWorkflowName(),
		GitHubWorkflowRepository: id.GetGithubWorkflowRepository(), GitHubWorkflowRef: id.GetGithubWorkflowRef(),
	}
}

func certificateProto(c *sign.Certificate) *stevedorev1.SignerCertificate {
	if c == nil {
		return nil
	}
	return &stevedorev1.SignerCertificate{
		Subject: c.Subject, Issuer: c.Issuer, Ca: c.CA,
		GithubWorkflowTrigger: c.GitHubWorkflowTrigger, GithubWorkflowSha: c.GitHubWorkflowSHA, GithubWorkflowName: c.GitHubWorkflowName,
		GithubWorkflowRepository: c.GitHubWorkflowRepository, GithubWorkflowRef: c.GitHubWorkflowRef,
	}
}

func treeEntriesProto(es []sign.TreeEntry) []*stevedorev1.TreeEntry {
	out := make([]*stevedorev1.TreeEntry, 0, len(es))
	for _, e := range es {
		te := &stevedorev1.TreeEntry{Manifest: descriptor(e.Manifest), Format: formatProto(e.Format), Tag: e.Tag,
			ArtifactType: e.ArtifactType, PredicateType: e.PredicateType}
		for _, l := range e.Layers {
			te.Layers = append(te.Layers, descriptor(l))
		}
		out = append(out, te)
	}
	return out
}
