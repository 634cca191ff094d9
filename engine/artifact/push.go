package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// File is one file or directory to push as a layer.
type File struct {
	// Path is where the content is on disk. A directory becomes a gzipped
	// tar that oras and Pull unpack under Name.
	Path string
	// Name is the layer's title, the path Pull writes it to, with '/'
	// separators. Empty means Path itself, which must then be relative and
	// stay below the working directory.
	Name string
	// MediaType is the layer's media type; empty means DefaultFileMediaType,
	// or DefaultDirMediaType for a directory.
	MediaType string
}

// PushOptions describe the artifact around its files.
type PushOptions struct {
	// ArtifactType is the manifest's artifactType. Empty means
	// DefaultArtifactType when the config is empty, and none otherwise.
	ArtifactType string
	// Config is pushed as the config blob (its MediaType defaulting to
	// "application/vnd.unknown.config.v1+json"); nil means the empty config.
	Config *File
	// Annotations are the manifest's; AnnotationCreated is added unless set.
	Annotations map[string]string
	// Subject makes the artifact a referrer of that manifest (attach).
	Subject *oci.Descriptor
	// Created is the creation time recorded; zero means now.
	Created time.Time
}

// defaultConfigMediaType is oras's media type for a config file given
// without one.
const defaultConfigMediaType = "application/vnd.unknown.config.v1+json"

// rootAdder is implemented by targets that list their images (an OCI
// layout's index.json): an untagged artifact is recorded there, where oras
// and Discover look for referrers.
type rootAdder interface {
	AddRoot(ctx context.Context, desc oci.Descriptor) error
}

// blob is content to push: its descriptor and a way to read it again.
type blob struct {
	desc oci.Descriptor
	open func() (io.ReadCloser, error)
}

// Push pushes files as one artifact to dst and tags it tag. With no tag the
// artifact is recorded as an untagged root where the target keeps a list (an
// OCI layout), and is otherwise reachable by digest or as a referrer only.
// Each file is read twice — once to hash it, once to send it — so memory
// stays flat; a file that changes in between fails verification. A
// transport.Committer target (an archive) is left for the caller to commit
// or abort.
//
// image-spec v1.1.1 manifest.md §Guidelines for Artifact Usage:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage
func Push(ctx context.Context, dst transport.Target, tag string, files []File, opts PushOptions) (oci.Descriptor, error) {
	tmp, err := os.MkdirTemp("", "stevedore-artifact-")
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "push", Err: err}
	}
	defer os.RemoveAll(tmp)

	layers, err := describeFiles(ctx, files, tmp)
	if err != nil {
		return oci.Descriptor{}, err
	}
	config, err := describeConfig(opts.Config)
	if err != nil {
		return oci.Descriptor{}, err
	}
	raw, mdesc, err := buildManifest(config.desc, layers, opts)
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "push", Err: err}
	}
	for _, b := range append([]blob{config}, layers...) {
		if err := pushBlob(ctx, dst, b); err != nil {
			return oci.Descriptor{}, &Error{Op: "push", Name: b.desc.Annotations[AnnotationTitle], Err: err}
		}
	}
	if err := dst.Push(ctx, mdesc, bytes.NewReader(raw)); err != nil {
		return oci.Descriptor{}, &Error{Op: "push", Name: "manifest " + mdesc.Digest.String(), Err: err}
	}
	if ra, ok := dst.(rootAdder); ok && tag == "" {
		err = ra.AddRoot(ctx, mdesc)
	} else if tag != "" {
		err = dst.Tag(ctx, mdesc, tag)
	}
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "push", Name: tag, Err: err}
	}
	return mdesc, nil
}

// pushBlob sends b unless dst already has it.
func pushBlob(ctx context.Context, dst transport.Target, b blob) error {
	ok, err := dst.Exists(ctx, b.desc)
	if err != nil || ok {
		return err
	}
	rc, err := b.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return dst.Push(ctx, b.desc, rc)
}

// describeFiles hashes every file and tars every directory, refusing
// titles that repeat or would escape the directory they are pulled into.
func describeFiles(ctx context.Context, files []File, tmp string) ([]blob, error) {
	if len(files) == 0 {
		return nil, &Error{Op: "push", Err: fmt.Errorf("no files to push: %w", errdef.ErrInvalid)}
	}
	seen := map[string]bool{}
	var out []blob
	for _, f := range files {
		name := f.Name
		if name == "" {
			name = filepath.ToSlash(f.Path)
		}
		if err := checkTitle(name); err != nil {
			return nil, &Error{Op: "push", Name: f.Path, Err: err}
		}
		name = path.Clean(name)
		if seen[name] {
			return nil, &Error{Op: "push", Name: f.Path, Err: fmt.Errorf("title %q given twice: %w", name, errdef.ErrInvalid)}
		}
		seen[name] = true
		b, err := describeFile(ctx, f.Path, name, f.MediaType, tmp)
		if err != nil {
			return nil, &Error{Op: "push", Name: f.Path, Err: err}
		}
		out = append(out, b)
	}
	return out, nil
}

// emptyConfig is the empty JSON config of an artifact that has none.
// image-spec v1.1.1 manifest.md §Guidance for an Empty Descriptor:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidance-for-an-empty-descriptor
var emptyConfig = []byte("{}")

// describeConfig returns the config blob: the file given, or the empty one.
func describeConfig(f *File) (blob, error) {
	if f == nil {
		return blob{
			desc: oci.Descriptor{MediaType: oci.MediaTypeEmptyJSON, Digest: digest.FromBytes(emptyConfig), Size: int64(len(emptyConfig)), Data: emptyConfig},
			open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(emptyConfig)), nil },
		}, nil
	}
	d, size, err := hashFile(f.Path)
	if err != nil {
		return blob{}, &Error{Op: "push", Name: f.Path, Err: err}
	}
	mt := f.MediaType
	if mt == "" {
		mt = defaultConfigMediaType
	}
	path := f.Path
	return blob{
		desc: oci.Descriptor{MediaType: mt, Digest: d, Size: size},
		open: func() (io.ReadCloser, error) { return os.Open(path) },
	}, nil
}

// buildManifest writes the artifact's image manifest.
//
// image-spec v1.1.1 manifest.md §Image Manifest Property Descriptions and
// §Guidelines for Artifact Usage:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage
func buildManifest(config oci.Descriptor, layers []blob, opts PushOptions) ([]byte, oci.Descriptor, error) {
	at := opts.ArtifactType
	if at == "" && config.MediaType == oci.MediaTypeEmptyJSON {
		at = DefaultArtifactType
	}
	ann := map[string]string{}
	for k, v := range opts.Annotations {
		ann[k] = v
	}
	if _, ok := ann[AnnotationCreated]; !ok {
		created := opts.Created
		if created.IsZero() {
			created = time.Now()
		}
		ann[AnnotationCreated] = created.UTC().Format(time.RFC3339)
	}
	m := v1.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    oci.MediaTypeImageManifest,
		ArtifactType: at,
		Config:       config,
		Layers:       make([]oci.Descriptor, len(layers)),
		Annotations:  ann,
	}
	if opts.Subject != nil {
		if err := oci.ValidateDigest(opts.Subject.Digest); err != nil {
			return nil, oci.Descriptor{}, fmt.Errorf("subject: %w", err)
		}
		m.Subject = &oci.Descriptor{MediaType: opts.Subject.MediaType, Digest: opts.Subject.Digest, Size: opts.Subject.Size}
	}
	for i, l := range layers {
		m.Layers[i] = l.desc
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, oci.Descriptor{}, err
	}
	if int64(len(raw)) > oci.DefaultManifestLimit {
		return nil, oci.Descriptor{}, fmt.Errorf("manifest of %d bytes is over the %d byte limit registries accept: %w", len(raw), oci.DefaultManifestLimit, errdef.ErrTooLarge)
	}
	return raw, oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digest.FromBytes(raw), Size: int64(len(raw)), ArtifactType: at}, nil
}

// Attach pushes files as an artifact whose subject is the manifest subject
// names in src (a tag or digest), so that it is listed among the subject's
// referrers. Where the registry has no referrers API, the registry transport
// maintains the tag schema index; in an OCI layout the artifact is recorded
// in index.json. opts.ArtifactType is required, as oras requires it.
//
// image-spec v1.1.1 manifest.md §subject and distribution-spec v1.1.1
// §Pushing Manifests with Subject:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests-with-subject
func Attach(ctx context.Context, src transport.Source, dst transport.Target, subject string, files []File, opts PushOptions) (oci.Descriptor, error) {
	if opts.ArtifactType == "" {
		return oci.Descriptor{}, &Error{Op: "attach", Err: fmt.Errorf("an attached artifact needs an artifact type: %w", errdef.ErrInvalid)}
	}
	if _, ok := dst.(transport.Committer); ok {
		return oci.Descriptor{}, &Error{Op: "attach", Err: fmt.Errorf("attaching to an archive, which is rewritten whole: %w", errdef.ErrUnsupported)}
	}
	sd, err := src.Resolve(ctx, subject)
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "attach", Name: subject, Err: err}
	}
	if !oci.IsManifest(sd.MediaType) {
		return oci.Descriptor{}, &Error{Op: "attach", Name: subject, Err: fmt.Errorf("subject %s has media type %q, not a manifest: %w", sd.Digest, sd.MediaType, errdef.ErrInvalid)}
	}
	opts.Subject = &sd
	d, err := Push(ctx, dst, "", files, opts)
	var ae *Error
	if errors.As(err, &ae) {
		ae.Op = "attach"
	}
	return d, err
}
