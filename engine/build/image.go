package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Annotations Build and Append set when an image is based on another.
// image-spec v1.1.1 annotations.md §Pre-Defined Annotation Keys:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md#pre-defined-annotation-keys
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// assembler writes new images into dst: the new layers (spooled once,
// pushed once), then for each image its base's blobs, config and manifest.
type assembler struct {
	src       transport.Source // holds the base; nil on scratch
	baseName  string
	dst       transport.Target
	opts      Options
	files     []*layer.File
	pushed    bool
	created   time.Time
	createdBy string
	manifests int
}

// newAssembler checks opts and fills its defaults.
func newAssembler(src transport.Source, baseName string, dst transport.Target, opts Options, verb string) (*assembler, error) {
	switch opts.Format {
	case "", FormatOCI, FormatDocker:
	default:
		return nil, fmt.Errorf("format %q: want oci or docker: %w", opts.Format, errdef.ErrInvalid)
	}
	c, err := layer.ParseCompression(string(opts.Compression))
	if err != nil {
		return nil, err
	}
	opts.Compression = c
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = oci.DefaultManifestLimit
	}
	a := &assembler{src: src, baseName: baseName, dst: dst, opts: opts, createdBy: opts.CreatedBy}
	switch {
	case opts.SourceDateEpoch != nil:
		a.created = opts.SourceDateEpoch.UTC().Truncate(time.Second)
	case opts.Reproducible:
		a.created = time.Unix(0, 0).UTC()
	default:
		a.created = time.Now().UTC().Truncate(time.Second)
	}
	if a.createdBy == "" {
		a.createdBy = "stevedore " + verb
	}
	return a, nil
}

// spool writes every new layer to a temporary file. close removes them.
func (a *assembler) spool(ctx context.Context) error {
	topts := layer.TarOptions{Normalize: a.opts.Reproducible || a.opts.SourceDateEpoch != nil}
	if a.opts.SourceDateEpoch != nil {
		topts.ModTime = *a.opts.SourceDateEpoch
	}
	wopts := layer.WriteOptions{Compression: a.opts.Compression, TempDir: a.opts.TempDir}
	for i, in := range a.opts.Layers {
		f, err := layer.Write(ctx, func(w io.Writer) error { return writeInput(ctx, w, in, topts) }, wopts)
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, in.describe(), err)
		}
		a.files = append(a.files, f)
	}
	return nil
}

// close removes the spooled layers.
func (a *assembler) close() {
	for _, f := range a.files {
		os.Remove(f.Path)
	}
}

// pushLayers sends the new layers to dst, once however many images use them.
func (a *assembler) pushLayers(ctx context.Context) error {
	if a.pushed {
		return nil
	}
	for _, f := range a.files {
		if err := f.Push(ctx, a.dst); err != nil {
			return err
		}
	}
	a.pushed = true
	return nil
}

// image writes one image: base (nil: scratch, of platform plat) plus the new
// layers, with a new config. The base's blobs are brought to dst first, then
// the new layers and config; the manifest goes last.
//
// image-spec v1.1.1 manifest.md §Image Manifest Property Descriptions:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
func (a *assembler) image(ctx context.Context, base *oci.Manifest, plat *oci.Platform) (oci.Descriptor, error) {
	docker := a.opts.Format == FormatDocker || (a.opts.Format == "" && base != nil && base.MediaType == oci.MediaTypeDockerManifest)
	var baseCfg []byte
	var layers []oci.Descriptor
	if base != nil {
		if base.ArtifactType != "" || (base.Config.MediaType != oci.MediaTypeImageConfig && base.Config.MediaType != oci.MediaTypeDockerConfig) {
			return oci.Descriptor{}, fmt.Errorf("base %s is an artifact (config %s), not an image: %w", base.Digest, base.Config.MediaType, errdef.ErrUnsupported)
		}
		var err error
		if baseCfg, err = transport.FetchAll(ctx, a.src, *base.Config, a.opts.ManifestLimit); err != nil {
			return oci.Descriptor{}, fmt.Errorf("base config %s: %w", base.Config.Digest, err)
		}
		for _, l := range base.Layers {
			if err := copyBlob(ctx, a.src, a.dst, l); err != nil {
				return oci.Descriptor{}, fmt.Errorf("base layer %s: %w", l.Digest, err)
			}
			l.MediaType = layer.ConvertMediaType(l.MediaType, docker)
			layers = append(layers, l)
		}
		plat = nil // the base's config already says
	}
	if err := a.pushLayers(ctx); err != nil {
		return oci.Descriptor{}, err
	}
	diffIDs := make([]digest.Digest, len(a.files))
	for i, f := range a.files {
		diffIDs[i] = f.DiffID
		d := f.Desc
		d.MediaType = layer.ConvertMediaType(d.MediaType, docker)
		layers = append(layers, d)
	}
	cfgRaw, err := editConfig(baseCfg, configEdit{cfg: a.opts.Config, platform: plat, diffIDs: diffIDs, created: a.created, createdBy: a.createdBy})
	if err != nil {
		return oci.Descriptor{}, err
	}
	cfg := oci.Descriptor{MediaType: oci.MediaTypeImageConfig, Digest: digest.FromBytes(cfgRaw), Size: int64(len(cfgRaw))}
	mt := oci.MediaTypeImageManifest
	if docker {
		cfg.MediaType, mt = oci.MediaTypeDockerConfig, oci.MediaTypeDockerManifest
	}
	if err := pushBytes(ctx, a.dst, cfg, cfgRaw); err != nil {
		return oci.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	doc := manifestDoc{SchemaVersion: 2, MediaType: mt, Config: cfg, Layers: layers}
	if layers == nil {
		doc.Layers = []oci.Descriptor{}
	}
	if !docker {
		doc.Annotations = a.annotations(base)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return oci.Descriptor{}, err
	}
	desc := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := pushBytes(ctx, a.dst, desc, raw); err != nil {
		return oci.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	a.manifests++
	return desc, nil
}

// annotations are the new manifest's: the caller's, plus the base's name and
// digest when the image has a named base.
func (a *assembler) annotations(base *oci.Manifest) map[string]string {
	out := map[string]string{}
	for k, v := range a.opts.Annotations {
		out[k] = v
	}
	if base != nil && a.baseName != "" {
		out[AnnotationBaseName] = a.baseName
		out[AnnotationBaseDigest] = base.Digest.String()
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// manifestDoc is an image manifest as written, fields in the spec's order.
type manifestDoc struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        oci.Descriptor    `json:"config"`
	Layers        []oci.Descriptor  `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// result describes desc and the new layers.
func (a *assembler) result(desc oci.Descriptor) *Result {
	r := &Result{Digest: desc.Digest, MediaType: desc.MediaType, Size: desc.Size, Manifests: a.manifests, Layers: []LayerResult{}}
	for _, f := range a.files {
		r.Layers = append(r.Layers, LayerResult{Digest: f.Desc.Digest, DiffID: f.DiffID, MediaType: f.Desc.MediaType, Size: f.Desc.Size})
	}
	return r
}

// rootAdder is implemented by targets that keep a list of their images (an
// OCI layout's index.json), so an untagged image is still recorded there.
type rootAdder interface {
	AddRoot(ctx context.Context, desc oci.Descriptor) error
}

// finish tags desc (or records it, untagged, where the target keeps a list).
func finish(ctx context.Context, dst transport.Target, desc oci.Descriptor, tag string) error {
	if tag != "" {
		return dst.Tag(ctx, desc, tag)
	}
	if ra, ok := dst.(rootAdder); ok {
		return ra.AddRoot(ctx, desc)
	}
	return nil
}
