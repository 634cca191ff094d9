package sign

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// The checks a signature made with a certificate passes, as a CheckError
// names them.
const (
	// CheckBundle: the bundle (or the legacy annotations) could be read.
	CheckBundle = "bundle"
	// CheckPayload: the signature is over this payload, and the payload
	// names this image.
	CheckPayload = "payload"
	// CheckChain: the certificate chains to a trusted CA (Fulcio, or the
	// --certificate-chain) at the time the signature was observed.
	CheckChain = "chain"
	// CheckSCT: the certificate carries a valid certificate transparency
	// timestamp.
	CheckSCT = "sct"
	// CheckTlog: the transparency log entry (inclusion proof or signed
	// entry timestamp) verifies and records this signature.
	CheckTlog = "tlog"
	// CheckTimestamp: the RFC 3161 timestamps verify against a trusted
	// timestamp authority.
	CheckTimestamp = "timestamp"
	// CheckIdentity: the certificate's subject (SAN) is the one required.
	CheckIdentity = "identity"
	// CheckIssuer: the certificate's OIDC issuer is the one required.
	CheckIssuer = "issuer"
	// CheckClaims: the certificate's GitHub workflow claims are the ones
	// required.
	CheckClaims = "claims"
)

// CheckError says which check of a certificate-based signature failed.
type CheckError struct {
	// Check is one of the Check constants.
	Check string
	// Err says how it failed.
	Err error
}

func (e *CheckError) Error() string { return e.Check + " check failed: " + e.Err.Error() }

// Unwrap returns the failure.
func (e *CheckError) Unwrap() error { return e.Err }

// checkErr wraps err as a failure of check.
func checkErr(check string, err error) *CheckError { return &CheckError{Check: check, Err: err} }

// Certificate is what a verified signing certificate says about the signer
// (Fulcio's certificate extensions, https://github.com/sigstore/fulcio/blob/v1.6.6/docs/oid-info.md).
type Certificate struct {
	// Subject is the subject alternative name: an email, a URI (a CI
	// workflow), or a Fulcio OtherName.
	Subject string `json:"subject"`
	// Issuer is the OIDC issuer that vouched for the subject (Fulcio OIDs
	// 1.3.6.1.4.1.57264.1.8 and .1.1); empty for a certificate without it.
	Issuer string `json:"issuer,omitempty"`
	// CA is the distinguished name of the certificate's issuing CA.
	CA string `json:"ca,omitempty"`
	// GitHubWorkflowTrigger ... GitHubWorkflowRef are the GitHub Actions
	// claims (OIDs 1.3.6.1.4.1.57264.1.2 to .1.6).
	GitHubWorkflowTrigger    string `json:"githubWorkflowTrigger,omitempty"`
	GitHubWorkflowSHA        string `json:"githubWorkflowSha,omitempty"`
	GitHubWorkflowName       string `json:"githubWorkflowName,omitempty"`
	GitHubWorkflowRepository string `json:"githubWorkflowRepository,omitempty"`
	GitHubWorkflowRef        string `json:"githubWorkflowRef,omitempty"`
	// Timestamps are the verified times the signature was observed at:
	// the log's integrated time, RFC 3161 timestamps (or the current time
	// when neither is required).
	Timestamps []Timestamp `json:"timestamps,omitempty"`
}

// Timestamp is one verified observation of a signature.
type Timestamp struct {
	// Kind is "tlog", "tsa" or "now"; for a Notary Project signature
	// "signed": the signing time the signer states (authentic for the
	// signingAuthority scheme, otherwise vouched for only by any RFC 3161
	// timestamp the trust policy verified).
	Kind string `json:"kind"`
	// Time is when it was observed.
	Time time.Time `json:"time"`
}

// CertVerifier verifies signatures made with a certificate: Sigstore
// keyless signatures (a Fulcio certificate, Rekor, RFC 3161 timestamps) or
// certificates of a private CA. It checks the cryptography only — the
// signature over the content, the chain, the SCT, the log entries and the
// timestamps against its trust material; who signed is then matched by
// Verify against VerifyOptions.Identities. The implementation lives outside
// engine/ (package keyless, over sigstore-go).
type CertVerifier interface {
	// VerifyBundle verifies a Sigstore bundle (v0.1 to v0.3, JSON).
	// artifact is the signed message of a message-signature bundle, nil
	// for a DSSE one. A failure is a *CheckError.
	VerifyBundle(bundle, artifact []byte) (*Certificate, error)
}

// Trust is the trust material certificate signatures are verified with
// (cosign's --trusted-root, --certificate-chain, --insecure-ignore-tlog,
// --insecure-ignore-sct); a CertVerifier is built from it.
type Trust struct {
	// TrustedRoot is a Sigstore trusted_root.json; nil means the
	// implementation's default (Sigstore's public-good root).
	TrustedRoot []byte
	// CertificateChain, when set, is a PEM bundle of CA certificates (a
	// private CA): its self-signed certificate is the root, the others
	// intermediates, and they replace the trusted root's certificate
	// authorities (its logs and timestamp authorities stay).
	CertificateChain []byte
	// IgnoreTlog does not require a transparency log entry; the signature
	// time is then the RFC 3161 timestamps or, without any, the current time.
	IgnoreTlog bool
	// IgnoreSCT does not require a certificate transparency timestamp in
	// the certificate.
	IgnoreSCT bool
}

// Identity is who a signing certificate must name: cosign's
// --certificate-identity[-regexp], --certificate-oidc-issuer[-regexp] and
// --certificate-github-workflow-* flags. The YAML names are those of
// sigstore's policy-controller. Regular expressions are Go's RE2 and, as in
// cosign, unanchored: write ^...$ to match the whole value.
type Identity struct {
	Subject       string `yaml:"subject" json:"subject,omitempty"`
	SubjectRegexp string `yaml:"subjectRegExp" json:"subjectRegExp,omitempty"`
	Issuer        string `yaml:"issuer" json:"issuer,omitempty"`
	IssuerRegexp  string `yaml:"issuerRegExp" json:"issuerRegExp,omitempty"`

	GitHubWorkflowTrigger    string `yaml:"githubWorkflowTrigger" json:"githubWorkflowTrigger,omitempty"`
	GitHubWorkflowSHA        string `yaml:"githubWorkflowSha" json:"githubWorkflowSha,omitempty"`
	GitHubWorkflowName       string `yaml:"githubWorkflowName" json:"githubWorkflowName,omitempty"`
	GitHubWorkflowRepository string `yaml:"githubWorkflowRepository" json:"githubWorkflowRepository,omitempty"`
	GitHubWorkflowRef        string `yaml:"githubWorkflowRef" json:"githubWorkflowRef,omitempty"`
}

// IsZero reports whether no constraint is set.
func (id Identity) IsZero() bool { return id == Identity{} }

// Validate requires a subject and an issuer, each exact or a regexp but not
// both, as cosign does for keyless verification: a certificate is only as
// good as the identity it is checked against.
func (id Identity) Validate() error {
	for _, p := range []struct{ name, exact, re string }{
		{"identity", id.Subject, id.SubjectRegexp},
		{"OIDC issuer", id.Issuer, id.IssuerRegexp},
	} {
		switch {
		case p.exact == "" && p.re == "":
			return fmt.Errorf("a certificate %s (exact or regexp) is required: %w", p.name, errdef.ErrInvalid)
		case p.exact != "" && p.re != "":
			return fmt.Errorf("certificate %s: give the exact value or the regexp, not both: %w", p.name, errdef.ErrInvalid)
		case p.re != "":
			if _, err := regexp.Compile(p.re); err != nil {
				return fmt.Errorf("certificate %s regexp: %v: %w", p.name, err, errdef.ErrInvalid)
			}
		}
	}
	return nil
}

// String is the identity as cosign's flags would state it.
func (id Identity) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("identity", id.Subject)
	add("identity-regexp", id.SubjectRegexp)
	add("oidc-issuer", id.Issuer)
	add("oidc-issuer-regexp", id.IssuerRegexp)
	add("github-workflow-trigger", id.GitHubWorkflowTrigger)
	add("github-workflow-sha", id.GitHubWorkflowSHA)
	add("github-workflow-name", id.GitHubWorkflowName)
	add("github-workflow-repository", id.GitHubWorkflowRepository)
	add("github-workflow-ref", id.GitHubWorkflowRef)
	return strings.Join(parts, " ")
}

// Match checks c against id; a mismatch is a *CheckError naming the check
// (identity, issuer or claims).
func (id Identity) Match(c *Certificate) error {
	if err := matchValue(id.Subject, id.SubjectRegexp, c.Subject); err != nil {
		return checkErr(CheckIdentity, fmt.Errorf("certificate subject %q: %v", c.Subject, err))
	}
	if err := matchValue(id.Issuer, id.IssuerRegexp, c.Issuer); err != nil {
		return checkErr(CheckIssuer, fmt.Errorf("certificate OIDC issuer %q: %v", c.Issuer, err))
	}
	for _, cl := range []struct{ name, want, got string }{
		{"github-workflow-trigger", id.GitHubWorkflowTrigger, c.GitHubWorkflowTrigger},
		{"github-workflow-sha", id.GitHubWorkflowSHA, c.GitHubWorkflowSHA},
		{"github-workflow-name", id.GitHubWorkflowName, c.GitHubWorkflowName},
		{"github-workflow-repository", id.GitHubWorkflowRepository, c.GitHubWorkflowRepository},
		{"github-workflow-ref", id.GitHubWorkflowRef, c.GitHubWorkflowRef},
	} {
		if cl.want != "" && cl.want != cl.got {
			return checkErr(CheckClaims, fmt.Errorf("certificate %s is %q, want %q", cl.name, cl.got, cl.want))
		}
	}
	return nil
}

// matchValue matches got against an exact value or an unanchored regexp
// (validated before).
func matchValue(exact, re, got string) error {
	switch {
	case exact != "" && got != exact:
		return fmt.Errorf("want %q", exact)
	case re != "":
		r, err := regexp.Compile(re)
		if err != nil {
			return err
		}
		if !r.MatchString(got) {
			return fmt.Errorf("does not match %q", re)
		}
	}
	return nil
}

// matchAny passes when c matches one of ids; the error is the first
// mismatch, or all of them when there are several.
func matchAny(ids []Identity, c *Certificate) error {
	var errs []string
	var first error
	for _, id := range ids {
		err := id.Match(c)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
		errs = append(errs, err.Error())
	}
	if len(errs) <= 1 {
		return first
	}
	ce := first.(*CheckError)
	return checkErr(ce.Check, fmt.Errorf("no identity matches: %s", strings.Join(errs, "; ")))
}
