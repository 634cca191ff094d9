package policy

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/notation"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// What a rule requires of an image's signatures.
const (
	// RequireAny: a signature by at least one of the rule's keys (the default).
	RequireAny = "any"
	// RequireAll: a signature by every one of the rule's keys.
	RequireAll = "all"
	// RequireNone: nothing; the rule exempts the repositories it matches.
	RequireNone = "none"
)

// What happens to a repository no rule matches.
const (
	// Reject refuses it (the default: a policy names what it trusts).
	Reject = "reject"
	// Accept lets it through unchecked.
	Accept = "accept"
)

// maxFileSize bounds a policy file; real ones are a few hundred bytes.
const maxFileSize = 1 << 20

// Policy is a parsed trust policy with its keys loaded.
type Policy struct {
	// Unmatched is Reject ("" too) or Accept.
	Unmatched string `yaml:"unmatched"`
	// Rules are tried in order; the first whose pattern matches decides.
	Rules []Rule `yaml:"repositories"`
}

// Rule is the requirement for the repositories one pattern matches.
type Rule struct {
	// Pattern matches Name(ref): '/'-separated path.Match globs, "**" for
	// any number of segments (registry.example.com/prod/**).
	Pattern string `yaml:"pattern"`
	// Keys are public key files (PUBLIC KEY PEM), relative to the policy file.
	Keys []string `yaml:"keys"`
	// Require is RequireAny ("" too), RequireAll or RequireNone.
	Require string `yaml:"require"`
	// Format restricts which signatures count: any ("" too), bundle, legacy.
	Format sign.Format `yaml:"format"`
	// Annotations must be among a signature's signed annotations.
	Annotations map[string]string `yaml:"annotations"`
	// PredicateType, when set, makes the rule require an attestation of
	// this type (SLSA provenance, an SBOM, ...) by its keys or identities
	// instead of a signature.
	PredicateType string `yaml:"predicateType"`
	// Identities are the signers a certificate signature (Sigstore
	// keyless, or a private CA) may name instead of a key: "signed by this
	// GitHub workflow".
	Identities []sign.Identity `yaml:"identities"`
	// TrustedRoot is a Sigstore trusted_root.json for the identities,
	// relative to the policy file; empty means Sigstore's public-good root.
	TrustedRoot string `yaml:"trustedRoot"`
	// CertificateChain is a PEM CA bundle (a private CA) certificates must
	// chain to instead of the trusted root's Fulcio CAs.
	CertificateChain string `yaml:"certificateChain"`
	// InsecureIgnoreTlog and InsecureIgnoreSCT drop the transparency log
	// and certificate transparency requirements (a private CA has neither).
	InsecureIgnoreTlog bool `yaml:"insecureIgnoreTlog"`
	InsecureIgnoreSCT  bool `yaml:"insecureIgnoreSCT"`
	// Notation accepts Notary Project signatures that a notation trust
	// policy and trust store verify, as a signer beside the keys and
	// identities.
	Notation *NotationTrust `yaml:"notation"`

	keys     []crypto.PublicKey
	certs    sign.CertVerifier
	notation sign.NotationVerifier
}

// NotationTrust names notation's own configuration files, relative to the
// policy file: its statements are selected by the repository checked
// (registryScopes HOST/REPO).
type NotationTrust struct {
	// TrustPolicy is a notation trustpolicy.json.
	TrustPolicy string `yaml:"trustPolicy"`
	// TrustStore is a directory laid out as notation's trust store:
	// x509/{ca,signingAuthority,tsa}/NAME/*.pem.
	TrustStore string `yaml:"trustStore"`
}

// Verifiers build what rules need beyond public keys; the CLI and the
// server pass keyless.New. A nil field refuses the rules that need it.
type Verifiers struct {
	// Certs builds the verifier of a rule with identities.
	Certs func(sign.Trust) (sign.CertVerifier, error)
}

// Error is a policy refusal. It matches errdef.ErrDenied.
type Error struct {
	// Name is the repository checked (see Name).
	Name string
	// Pattern is the rule that refused it; empty when no rule matched.
	Pattern string
	// Reason says why.
	Reason string
	// Report is the verification report, when one was made.
	Report *sign.Report
}

func (e *Error) Error() string {
	rule := "no rule matches"
	if e.Pattern != "" {
		rule = "rule " + e.Pattern
	}
	return fmt.Sprintf("trust policy refuses %s (%s): %s", e.Name, rule, e.Reason)
}

// Unwrap makes a refusal errdef.ErrDenied.
func (e *Error) Unwrap() error { return errdef.ErrDenied }

// Load reads the policy file at path and the key and trust files it names.
func Load(path string, v Verifiers) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("policy %s: larger than %d bytes: %w", path, maxFileSize, errdef.ErrTooLarge)
	}
	p, err := Parse(data, filepath.Dir(path), v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse parses a policy document strictly (unknown fields are errors) and
// loads its key and trust files, relative to dir.
func Parse(data []byte, dir string, v Verifiers) (*Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("policy: %v: %w", err, errdef.ErrInvalid)
	}
	switch p.Unmatched {
	case "":
		p.Unmatched = Reject
	case Reject, Accept:
	default:
		return nil, fmt.Errorf("policy: unmatched %q (want reject or accept): %w", p.Unmatched, errdef.ErrInvalid)
	}
	for i := range p.Rules {
		if err := p.Rules[i].load(dir, v); err != nil {
			return nil, fmt.Errorf("policy: repositories[%d] (%s): %w", i, p.Rules[i].Pattern, err)
		}
	}
	return &p, nil
}

// load checks the rule and reads its keys and trust material.
func (r *Rule) load(dir string, v Verifiers) error {
	if err := checkPattern(r.Pattern); err != nil {
		return err
	}
	switch r.Require {
	case "":
		r.Require = RequireAny
	case RequireAny, RequireAll:
	case RequireNone:
		if len(r.Keys) > 0 || len(r.Identities) > 0 || r.Notation != nil {
			return fmt.Errorf("require: none takes no keys, identities or notation: %w", errdef.ErrInvalid)
		}
		return nil
	default:
		return fmt.Errorf("require %q (want any, all or none): %w", r.Require, errdef.ErrInvalid)
	}
	if _, err := sign.ParseFormat(string(r.Format), true); err != nil {
		return err
	}
	if len(r.Keys) == 0 && len(r.Identities) == 0 && r.Notation == nil {
		return fmt.Errorf("no keys, identities or notation (a rule needing no signature says require: none): %w", errdef.ErrInvalid)
	}
	if err := r.loadCerts(dir, v); err != nil {
		return err
	}
	if err := r.loadNotation(dir); err != nil {
		return err
	}
	for _, k := range r.Keys {
		raw, err := os.ReadFile(relTo(dir, k))
		if err != nil {
			return err
		}
		pub, err := sign.ParsePublicKey(raw)
		if err != nil {
			return fmt.Errorf("key %s: %w", k, err)
		}
		r.keys = append(r.keys, pub)
	}
	return nil
}

// loadCerts builds the verifier of a rule with identities.
func (r *Rule) loadCerts(dir string, v Verifiers) error {
	if len(r.Identities) == 0 {
		if r.TrustedRoot != "" || r.CertificateChain != "" || r.InsecureIgnoreTlog || r.InsecureIgnoreSCT {
			return fmt.Errorf("trustedRoot, certificateChain and insecureIgnore* apply to identities, and the rule has none: %w", errdef.ErrInvalid)
		}
		return nil
	}
	for i, id := range r.Identities {
		if err := id.Validate(); err != nil {
			return fmt.Errorf("identities[%d]: %w", i, err)
		}
	}
	if v.Certs == nil {
		return fmt.Errorf("identities: this program cannot verify certificate signatures: %w", errdef.ErrUnsupported)
	}
	t := sign.Trust{IgnoreTlog: r.InsecureIgnoreTlog, IgnoreSCT: r.InsecureIgnoreSCT}
	var err error
	if r.TrustedRoot != "" {
		if t.TrustedRoot, err = os.ReadFile(relTo(dir, r.TrustedRoot)); err != nil {
			return err
		}
	}
	if r.CertificateChain != "" {
		if t.CertificateChain, err = os.ReadFile(relTo(dir, r.CertificateChain)); err != nil {
			return err
		}
	}
	r.certs, err = v.Certs(t)
	return err
}

// loadNotation builds the notation verifier of a rule that accepts Notary
// Project signatures.
func (r *Rule) loadNotation(dir string) error {
	n := r.Notation
	if n == nil {
		return nil
	}
	if n.TrustPolicy == "" || n.TrustStore == "" {
		return fmt.Errorf("notation: trustPolicy and trustStore are both required: %w", errdef.ErrInvalid)
	}
	if r.PredicateType != "" {
		return fmt.Errorf("notation: Notary Project signatures are not attestations; a rule with predicateType cannot accept them: %w", errdef.ErrInvalid)
	}
	doc, err := os.ReadFile(relTo(dir, n.TrustPolicy))
	if err != nil {
		return fmt.Errorf("notation: %w", err)
	}
	store, err := notation.LoadTrustStore(relTo(dir, n.TrustStore))
	if err != nil {
		return fmt.Errorf("notation: %w", err)
	}
	v, err := notation.New(notation.Options{TrustPolicy: doc, TrustStore: store})
	if err != nil {
		return fmt.Errorf("notation: %w", err)
	}
	r.notation = v
	return nil
}

// relTo resolves a file name of the policy relative to its directory.
func relTo(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Match returns the first rule whose pattern matches name, or nil.
func (p *Policy) Match(name string) *Rule {
	for i := range p.Rules {
		if match(p.Rules[i].Pattern, name) {
			return &p.Rules[i]
		}
	}
	return nil
}

// Protects reports whether a rule that needs signatures matches name: what
// the registry enforces on pull (repositories no rule names stay open there,
// whatever Unmatched says).
func (p *Policy) Protects(name string) bool {
	r := p.Match(name)
	return r != nil && r.Require != RequireNone
}

// Check decides whether the image ref names in src (a tag or digest, as
// Source.Resolve takes it) may be used, name being its repository (see
// Name). It returns the digest checked, so the caller can use exactly that
// image rather than what a tag points at by then; a refusal is an *Error
// (errdef.ErrDenied). Only a failure to look is another error.
func (p *Policy) Check(ctx context.Context, src transport.Source, ref, name string) (oci.Descriptor, error) {
	rule := p.Match(name)
	if rule == nil || rule.Require == RequireNone {
		if rule == nil && p.Unmatched != Accept {
			return oci.Descriptor{}, &Error{Name: name, Reason: "the policy does not name this repository (unmatched: reject)"}
		}
		return src.Resolve(ctx, ref)
	}
	verify := sign.Verify
	if rule.PredicateType != "" {
		verify = sign.VerifyAttestation
	}
	rep, err := verify(ctx, src, ref, sign.VerifyOptions{Keys: rule.keys, KeyNames: rule.Keys, Format: rule.Format, Annotations: rule.Annotations,
		Certs: rule.certs, Identities: rule.Identities, PredicateType: rule.PredicateType, Notation: rule.notation, Scope: name})
	if err != nil {
		return oci.Descriptor{}, err
	}
	refuse := func(reason string) (oci.Descriptor, error) {
		return oci.Descriptor{}, &Error{Name: name, Pattern: rule.Pattern, Reason: reason, Report: rep}
	}
	if !rep.Verified {
		return refuse(rep.Err().Error())
	}
	if rule.Require == RequireAll {
		signed := map[int]bool{}
		for _, f := range rep.Findings {
			if f.Verified {
				signed[f.Key] = true
			}
		}
		var missing []string
		for i, k := range rule.Keys {
			if !signed[i] {
				missing = append(missing, k)
			}
		}
		for _, id := range rule.Identities {
			if !signedBy(rep, id) {
				missing = append(missing, id.String())
			}
		}
		if rule.notation != nil && !notarized(rep) {
			missing = append(missing, "a notation signature")
		}
		if len(missing) > 0 {
			return refuse(fmt.Sprintf("%s is not signed by %s (require: all)", rep.Subject.Digest, strings.Join(missing, ", ")))
		}
	}
	return rep.Subject, nil
}

// notarized reports whether a Notary Project signature of rep verified.
func notarized(rep *sign.Report) bool {
	for _, f := range rep.Findings {
		if f.Verified && f.Format == sign.FormatNotation {
			return true
		}
	}
	return false
}

// signedBy reports whether a verified certificate signature of rep names id.
func signedBy(rep *sign.Report, id sign.Identity) bool {
	for _, f := range rep.Findings {
		if f.Verified && f.Certificate != nil && id.Match(f.Certificate) == nil {
			return true
		}
	}
	return false
}
