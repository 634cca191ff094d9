// Package policy is stevedore's trust policy: which public keys, which
// certificate identities (Sigstore keyless: "signed by this GitHub
// workflow"), or which notation trust policy (Notary Project) must have
// signed the images of which repositories. copy (--verify-policy) checks a
// source against it before writing anything, and the registry can check
// pulls of protected repositories against it.
//
// Signatures are cosign's, in either format (see package sign): a Sigstore
// bundle referrer or a legacy sha256-<hex>.sig tag
// (https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md),
// or the Notary Project's (package notation).
//
// The file is YAML, read strictly (unknown fields are errors):
//
//	unmatched: reject          # or accept: what happens to a repository no rule names
//	repositories:
//	  - pattern: registry.example.com/prod/**   # first matching rule wins
//	    keys: [keys/release.pub, keys/backup.pub] # relative to the policy file
//	    require: any           # any (default): one key must have signed; all: every key; none: no signature needed
//	    format: any            # any (default), bundle or legacy
//	    annotations: {team: web} # signed annotations a signature must carry (optional)
//	  - pattern: ghcr.io/org/**
//	    identities:            # keyless: a certificate naming one of these (cosign's --certificate-* flags)
//	      - subjectRegExp: ^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/
//	        issuer: https://token.actions.githubusercontent.com
//	        githubWorkflowTrigger: push        # also githubWorkflowSha, -Name, -Repository, -Ref
//	    trustedRoot: trusted_root.json   # optional; default: Sigstore's public-good root
//	    certificateChain: ca.pem         # optional: a private CA instead of Fulcio
//	    insecureIgnoreTlog: false        # a private CA has no log entry
//	    insecureIgnoreSCT: false         # ... nor an SCT
//	    predicateType: https://slsa.dev/provenance/v1 # optional: require an attestation of this type instead of a signature
//	  - pattern: registry.example.com/notary/**
//	    notation:              # Notary Project signatures, verified as notation verifies them
//	      trustPolicy: notation/trustpolicy.json   # notation's trust policy: its registryScopes name HOST/REPO
//	      trustStore: notation/truststore          # notation's trust store: x509/{ca,signingAuthority,tsa}/NAME/*.pem
//
// A rule may list keys, identities and notation; require: any passes with a
// signature by any of them, require: all needs one by each (notation counting
// as one signer: a signature its trust policy accepts).
package policy
