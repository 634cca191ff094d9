package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Report is the result of Validate: what was checked and every problem found.
type Report struct {
	// Digest and MediaType describe what the reference resolved to.
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	// Checked counts the descriptors read and verified (each blob once).
	Checked int `json:"checked"`
	// Problems lists every failure; empty means valid.
	Problems []Problem `json:"problems"`
}

// Valid reports whether no problem was found.
func (r *Report) Valid() bool { return len(r.Problems) == 0 }

// Problem is one thing wrong with an image.
type Problem struct {
	// Digest and MediaType name the descriptor at fault.
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Err is the underlying error, if any, for errors.Is.
	Err error `json:"-"`
}

// maxDepth bounds index nesting; real images nest two deep at most.
const maxDepth = 8

// Validate checks the image, index or artifact ref names in src, every
// platform of an index included: every descriptor resolves, each blob's
// size and digest match (every byte is streamed through the verifier), an
// image config's rootfs.diff_ids equal the sha256 of the uncompressed
// layers, and media types are consistent (an OCI manifest names OCI
// configs and layers, a Docker one Docker's). It returns an error only when
// ref itself cannot be resolved; everything else is a Problem.
//
// image-spec v1.1.1 config.md (rootfs.diff_ids):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
// and manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
func Validate(ctx context.Context, src transport.Source, ref string, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	desc, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, &Error{Op: "validate", Err: err}
	}
	v := &validator{src: src, opts: opts, rep: &Report{Digest: desc.Digest, MediaType: desc.MediaType, Problems: []Problem{}}, blobs: map[digest.Digest]blobResult{}}
	if err := v.manifest(ctx, desc, 0); err != nil {
		return nil, &Error{Op: "validate", Err: err}
	}
	return v.rep, nil
}

type validator struct {
	src   transport.Source
	opts  Options
	rep   *Report
	blobs map[digest.Digest]blobResult // each blob is read once
}

type blobResult struct {
	diffID digest.Digest // for a layer read as one
	err    error
}

func (v *validator) problem(d oci.Descriptor, err error, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if err != nil {
		msg += ": " + err.Error()
	}
	v.rep.Problems = append(v.rep.Problems, Problem{Digest: d.Digest, MediaType: d.MediaType, Message: msg, Err: err})
}

// fatal reports whether err should stop validation rather than be a problem.
func fatal(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// manifest checks a manifest or index and everything below it.
func (v *validator) manifest(ctx context.Context, desc oci.Descriptor, depth int) error {
	v.rep.Checked++
	m, err := transport.FetchManifest(ctx, v.src, desc, v.opts.ManifestLimit)
	if err != nil {
		if fatal(err) {
			return err
		}
		v.problem(desc, err, "manifest")
		return nil
	}
	if m.IsIndex() {
		if depth >= maxDepth {
			v.problem(desc, nil, "indexes nest deeper than %d levels", maxDepth)
			return nil
		}
		docker := m.MediaType == oci.MediaTypeDockerManifestList
		for _, c := range m.Manifests {
			if oci.IsManifest(c.MediaType) && isDocker(c.MediaType) != docker {
				v.problem(c, nil, "%s lists a manifest of type %s", m.MediaType, c.MediaType)
			}
			if !oci.IsManifest(c.MediaType) {
				v.problem(c, nil, "index entry has media type %q, not a manifest or index", c.MediaType)
				continue
			}
			if err := v.manifest(ctx, c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return v.image(ctx, m)
}

// image checks an image manifest's config and layers.
func (v *validator) image(ctx context.Context, m *oci.Manifest) error {
	docker := m.MediaType == oci.MediaTypeDockerManifest
	cfgDesc := *m.Config
	v.rep.Checked++
	raw, err := transport.FetchAll(ctx, v.src, cfgDesc, v.opts.ManifestLimit)
	if fatal(err) {
		return err
	}
	var diffIDs []string
	isImage := cfgDesc.MediaType == oci.MediaTypeImageConfig || cfgDesc.MediaType == oci.MediaTypeDockerConfig
	switch {
	case err != nil:
		v.problem(cfgDesc, err, "config")
		isImage = false
	case docker && cfgDesc.MediaType != oci.MediaTypeDockerConfig:
		v.problem(cfgDesc, nil, "Docker manifest %s has a config of type %q", m.Digest, cfgDesc.MediaType)
	case !docker && cfgDesc.MediaType == oci.MediaTypeDockerConfig:
		v.problem(cfgDesc, nil, "OCI manifest %s has a Docker config", m.Digest)
	}
	if err == nil && isImage {
		cfg, perr := oci.ParseImageConfig(raw)
		if perr != nil {
			v.problem(cfgDesc, perr, "config")
			isImage = false
		} else {
			diffIDs = cfg.RootFS.DiffIDs
			if len(diffIDs) != len(m.Layers) {
				v.problem(cfgDesc, nil, "config lists %d diff_ids for the %d layers of manifest %s", len(diffIDs), len(m.Layers), m.Digest)
			}
		}
	}
	for i, l := range m.Layers {
		if isLayerMediaType(l.MediaType) && isDocker(l.MediaType) != docker && isImage {
			v.problem(l, nil, "%s manifest %s has a layer of type %s", map[bool]string{true: "Docker", false: "OCI"}[docker], m.Digest, l.MediaType)
		}
		if isImage && !isLayerMediaType(l.MediaType) {
			v.problem(l, nil, "image layer has unknown media type %q", l.MediaType)
		}
		res, err := v.blob(ctx, l, isImage && isLayerMediaType(l.MediaType))
		if err != nil {
			return err
		}
		if res.err != nil {
			v.problem(l, res.err, "layer %d", i)
			continue
		}
		if isImage && res.diffID != "" && i < len(diffIDs) && digest.Digest(diffIDs[i]) != res.diffID {
			v.problem(l, nil, "layer %d uncompresses to %s, but the config's diff_id is %s", i, res.diffID, diffIDs[i])
		}
	}
	return nil
}

// isDocker reports whether a manifest or layer media type is Docker's.
func isDocker(mediaType string) bool {
	switch mediaType {
	case oci.MediaTypeDockerManifest, oci.MediaTypeDockerManifestList, oci.MediaTypeDockerConfig,
		oci.MediaTypeDockerLayerGzip, oci.MediaTypeDockerForeignLayer, mediaTypeDockerLayer, mediaTypeDockerLayerZstd:
		return true
	}
	return false
}

// blob reads desc whole through the verifier; a layer is also uncompressed
// and hashed for its diff_id. A blob shared by several manifests is read once.
func (v *validator) blob(ctx context.Context, desc oci.Descriptor, layer bool) (blobResult, error) {
	if r, ok := v.blobs[desc.Digest]; ok {
		return r, nil
	}
	v.rep.Checked++
	var r blobResult
	if layer {
		r.diffID, r.err = v.diffID(ctx, desc)
	} else {
		r.err = v.drain(ctx, desc)
	}
	if fatal(r.err) {
		return r, r.err
	}
	v.blobs[desc.Digest] = r
	return r, nil
}

func (v *validator) drain(ctx context.Context, desc oci.Descriptor) error {
	rc, err := v.src.Fetch(ctx, desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// diffID hashes the uncompressed layer, bounded like every layer read.
func (v *validator) diffID(ctx context.Context, desc oci.Descriptor) (digest.Digest, error) {
	ls, err := openLayer(ctx, v.src, desc, v.opts)
	if err != nil {
		return "", err
	}
	defer ls.Close()
	d := digest.Canonical.Digester()
	if _, err := io.Copy(d.Hash(), ls); err != nil {
		return "", ls.blame(tarError(err))
	}
	if err := ls.finish(); err != nil {
		return "", err
	}
	return d.Digest(), nil
}
