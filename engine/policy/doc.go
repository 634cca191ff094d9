// Package policy is stevedore's trust policy: which public keys must have
// signed the images of which repositories. copy (--verify-policy) checks a
// source against it before writing anything, and the registry can check
// pulls of protected repositories against it.
//
// Signatures are cosign's, in either format (see package sign): a Sigstore
// bundle referrer or a legacy sha256-<hex>.sig tag
// (https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md).
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
package policy
