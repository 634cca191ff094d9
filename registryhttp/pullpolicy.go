package registryhttp

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// maxIndexScan bounds the tags looked at when a manifest is not signed
// itself but may be a platform of a signed index.
const maxIndexScan = 256

// PullPolicy serves the registry with a trust policy enforced on pulls: in a
// repository the policy protects (see policy.Policy.Protects, matched
// against HOST/NAME), a manifest GET, by tag or digest, is answered 403
// DENIED unless the image is signed as the policy requires. Everything else
// passes: pushes; HEAD, which tells a signer the digest to sign and nothing
// a puller can use; blobs (unreachable without a manifest); the referrers
// API; and the signatures themselves (referrers, the sha256-<hex> tag schema
// and cosign's legacy tags), which a client needs to verify.
//
// A manifest that is not signed itself passes when a tagged index that
// lists it is: signing an index covers its platforms, as pullers fetch
// those by digest after the index.
type PullPolicy struct {
	reg  *Registry
	next http.Handler
	pol  *policy.Policy
	host string
}

// NewPullPolicy returns the registry reg, served by next (reg itself, or
// reg wrapped in metrics), behind pol. host is the registry's name in the
// policy's patterns (its address as clients write it, e.g. 127.0.0.1:5000);
// it is fixed here rather than taken from the Host header, which the
// client chooses.
func NewPullPolicy(reg *Registry, next http.Handler, pol *policy.Policy, host string) *PullPolicy {
	return &PullPolicy{reg: reg, next: next, pol: pol, host: host}
}

// ServeHTTP implements http.Handler.
func (p *PullPolicy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ref, ok := manifestPull(r)
	if !ok || !p.pol.Protects(p.host+"/"+name) {
		p.next.ServeHTTP(w, r)
		return
	}
	err := p.check(r, name, ref)
	if err == nil {
		p.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	var pe *policy.Error
	if errors.As(err, &pe) {
		p.reg.log.Info("pull refused by policy", zap.String("repository", name), zap.String("reference", ref), zap.String("reason", pe.Reason))
		err = fail(classDenied, pe.Error()) // DENIED, 403
	} else {
		p.reg.log.Error("pull policy check", zap.String("repository", name), zap.String("reference", ref), zap.Error(err))
	}
	writeError(w, r, endManifestGet, err)
}

// manifestPull recognises GET /v2/NAME/manifests/REF, parsed as the
// registry routes it.
// distribution-spec v1.1.1 §Pulling manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func manifestPull(r *http.Request) (name, ref string, ok bool) {
	if r.Method != http.MethodGet {
		return "", "", false
	}
	rt, err := route.Parse(r.URL.Path)
	if err != nil || rt.Kind != route.Manifest {
		return "", "", false // a bad name: the registry answers NAME_INVALID
	}
	return rt.Name, rt.Ref, true
}

// check returns nil when the manifest may be served, a *policy.Error when
// it may not, and another error when the check could not run. What the
// registry would answer 404 anyway passes, so it answers.
func (p *PullPolicy) check(r *http.Request, name, ref string) error {
	ctx := r.Context()
	if strings.HasPrefix(ref, "sha256-") {
		return nil // tag schema index or legacy signature tag
	}
	fs, err := p.reg.openRepo(ctx, name)
	if err != nil {
		return nil
	}
	m, err := p.reg.readManifest(r, fs, ref)
	if err != nil {
		return nil
	}
	if isSignature(m) {
		return nil
	}
	src := served.NewRepo(p.reg.root, name)
	full := p.host + "/" + name
	_, err = p.pol.Check(ctx, src, m.Digest.String(), full)
	var pe *policy.Error
	if !errors.As(err, &pe) {
		return err
	}
	if ok, ierr := p.signedIndexLists(ctx, src, fs, m, full); ierr != nil || ok {
		return ierr
	}
	return err
}

// isSignature recognises what verifying needs to read: referrers (a
// bundle, an SBOM) and cosign's legacy signature and attestation manifests.
func isSignature(m *oci.Manifest) bool {
	if m.Subject != nil {
		return true
	}
	for _, l := range m.Layers {
		if l.MediaType == sign.MediaTypeSimpleSigning || l.MediaType == sign.MediaTypeDSSE {
			return true
		}
	}
	return false
}

// signedIndexLists reports whether a tagged index of the repository lists
// m and passes the policy.
func (p *PullPolicy) signedIndexLists(ctx context.Context, src transport.Source, fs served.Repository, m *oci.Manifest, full string) (bool, error) {
	if oci.IsIndex(m.MediaType) {
		return false, nil
	}
	tags, err := fs.Tags(ctx)
	if err != nil {
		return false, err
	}
	if len(tags) > maxIndexScan {
		tags = tags[:maxIndexScan]
	}
	for _, t := range tags {
		d, err := fs.Resolve(ctx, t)
		if err != nil || !oci.IsIndex(d.MediaType) {
			continue
		}
		idx, err := served.ReadManifest(ctx, fs, d.Digest.String())
		if err != nil {
			continue
		}
		listed := false
		for _, c := range idx.Manifests {
			listed = listed || c.Digest == m.Digest
		}
		if !listed {
			continue
		}
		if _, err := p.pol.Check(ctx, src, d.Digest.String(), full); err == nil {
			return true, nil
		}
	}
	return false, nil
}
