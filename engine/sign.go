package engine

import (
	"context"
	"crypto"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Sign signs the image ref names (a tag is resolved to its digest first:
// the digest is what is signed) with signer, as engine/sign's Sign does,
// and writes the signatures beside it: ref must be a registry repository,
// the served store or an oci: layout. opts.Identity, when empty, is ref's
// repository (HOST/REPO) or layout path.
func (e *Engine) Sign(ctx context.Context, ref transport.Ref, signer crypto.Signer, opts sign.SignOptions) ([]sign.Signed, error) {
	res, err := e.sign(ctx, ref, ref.Identifier(), signer, opts)
	if err != nil {
		return nil, &Error{Op: "sign", Ref: ref.String(), Err: err}
	}
	return res, nil
}

// sign signs id (a tag or digest) in the repository ref names.
func (e *Engine) sign(ctx context.Context, ref transport.Ref, id string, signer crypto.Signer, opts sign.SignOptions) (res []sign.Signed, err error) {
	err = e.signing(ctx, ref, &opts.Identity, func(repo sign.Repo) error {
		res, err = sign.Sign(ctx, repo, id, signer, opts)
		return err
	})
	return res, err
}

// Attest attaches a signed in-toto statement carrying opts.Predicate to
// the image ref names, as engine/sign's Attest does; where it goes and
// opts.Identity's default are as for Sign.
func (e *Engine) Attest(ctx context.Context, ref transport.Ref, signer crypto.Signer, opts sign.AttestOptions) (res *sign.Signed, err error) {
	err = e.signing(ctx, ref, &opts.Identity, func(repo sign.Repo) error {
		res, err = sign.Attest(ctx, repo, ref.Identifier(), signer, opts)
		return err
	})
	if err != nil {
		return nil, &Error{Op: "attest", Ref: ref.String(), Err: err}
	}
	return res, nil
}

// signing opens the repository ref names to sign in it, fills an empty
// identity with the name signatures record for ref, and runs fn.
func (e *Engine) signing(ctx context.Context, ref transport.Ref, identity *string, fn func(sign.Repo) error) error {
	repo, err := e.openRepo(ctx, ref)
	if err != nil {
		return err
	}
	defer closeT(repo)
	if *identity == "" {
		*identity = e.signIdentity(ref)
	}
	return fn(repo)
}

// Verify checks the signatures of the image ref names (engine/sign's
// Verify). A nil error means the search ran: the verdict is the report's
// (sign.Report.Err). Notary Project signatures are checked under the trust
// policy statement for opts.Scope, by default ref's HOST/REPO.
func (e *Engine) Verify(ctx context.Context, ref transport.Ref, opts sign.VerifyOptions) (rep *sign.Report, err error) {
	if opts.Notation != nil && opts.Scope == "" {
		// notation selects its trust policy statement by registry scope:
		// HOST/REPO, which a layout or an archive does not have.
		if !ref.IsRepository() {
			return nil, &Error{Op: "verify", Ref: ref.String(), Err: fmt.Errorf("a notation scope (the trust policy's registryScopes entry to apply, e.g. local/app) is needed to verify notation signatures in %s: %w", ref.Transport, errdef.ErrInvalid)}
		}
		opts.Scope = e.signIdentity(ref)
	}
	err = e.read(ctx, "verify", ref, func(src transport.Source) error {
		rep, err = sign.Verify(ctx, src, ref.Identifier(), opts)
		return err
	})
	return rep, err
}

// VerifyAttestation checks the attestations of type opts.PredicateType of
// the image ref names (engine/sign's VerifyAttestation); the verdict is the
// report's, as for Verify.
func (e *Engine) VerifyAttestation(ctx context.Context, ref transport.Ref, opts sign.VerifyOptions) (rep *sign.Report, err error) {
	err = e.read(ctx, "verify-attestation", ref, func(src transport.Source) error {
		rep, err = sign.VerifyAttestation(ctx, src, ref.Identifier(), opts)
		return err
	})
	return rep, err
}

// SignatureTree lists the signatures, attestations, SBOMs and other
// artifacts attached to the image ref names, as cosign tree does; nothing
// is verified.
func (e *Engine) SignatureTree(ctx context.Context, ref transport.Ref) (t *sign.Tree, err error) {
	err = e.read(ctx, "tree", ref, func(src transport.Source) error {
		t, err = sign.ListTree(ctx, src, ref.Identifier())
		return err
	})
	return t, err
}

// signable refuses, before anything is read or written, a reference that
// cannot hold signatures.
func signable(ref transport.Ref) error {
	switch ref.Transport {
	case transport.Docker, transport.Store, transport.OCI:
		return nil
	}
	return fmt.Errorf("%s: signatures live in a registry or an oci: layout, not in %s: %w", ref, ref.Transport, errdef.ErrUnsupported)
}

// openRepo opens the repository or layout ref names to be read and written
// (signatures are pushed beside the image they sign): in the served store,
// the caller needs both the pull and the push right. Close what it returns.
func (e *Engine) openRepo(ctx context.Context, ref transport.Ref) (sign.Repo, error) {
	if err := signable(ref); err != nil {
		return nil, err
	}
	if name, ok, err := e.served(ref); err != nil {
		return nil, err
	} else if ok {
		if err := e.allow(name, ActionPush); err != nil {
			return nil, err
		}
	}
	src, err := e.open(ctx, ref)
	if err != nil {
		return nil, err
	}
	repo, ok := src.(sign.Repo)
	if !ok {
		closeT(src)
		return nil, fmt.Errorf("%s cannot hold signatures: %w", ref, errdef.ErrUnsupported)
	}
	return repo, nil
}

// signIdentity is the name a legacy signature payload or an attestation
// subject records for ref: HOST/REPO (the served registry's address for
// the served store), or a layout's path.
func (e *Engine) signIdentity(ref transport.Ref) string {
	switch ref.Transport {
	case transport.Docker:
		return ref.Image.Name()
	case transport.Store:
		return e.policyName(ref)
	}
	return ref.Path
}
