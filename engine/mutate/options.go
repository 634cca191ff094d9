package mutate

import (
	"github.com/opencontainers/go-digest"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Options are what every mutation shares. The zero value edits every
// platform of an index and reads manifests up to oci.DefaultManifestLimit.
type Options struct {
	// Platforms scopes an edit of an index to the entries matching any of
	// these (os/arch[/variant]; no variant matches any); the other entries
	// are kept as they are. Empty means every entry. Ignored for a single
	// image manifest.
	Platforms []string
	// ManifestLimit bounds manifest and config reads; <= 0 means
	// oci.DefaultManifestLimit.
	ManifestLimit int64
	// TempDir is where new layers are staged before they are pushed; empty
	// means os.TempDir().
	TempDir string
	// Progress, if set, receives the events of pushing the result, one at
	// a time (see engine/copy).
	Progress func(imgcopy.Event)
}

func (o Options) limit() int64 {
	if o.ManifestLimit <= 0 {
		return oci.DefaultManifestLimit
	}
	return o.ManifestLimit
}

// Image names an image to read: a source and the tag or digest inside it
// ("" for a layout's only image).
type Image struct {
	Src transport.Source
	Ref string
	// Name is how the image is known to people (a registry reference); it is
	// recorded in org.opencontainers.image.base.name by Rebase. May be empty.
	Name string
}

// Result describes what a mutation pushed.
type Result struct {
	// Digest, MediaType and Size describe the new root manifest or index.
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	// Tag is the tag set at the target; empty when the result was pushed by
	// digest only.
	Tag string `json:"tag,omitempty"`
	// Source is the digest of what was read; it is unchanged.
	Source digest.Digest `json:"sourceDigest"`
	// Pushed counts what pushing the result sent to the target and found
	// there already.
	Pushed *imgcopy.Result `json:"-"`
}
