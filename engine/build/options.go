package build

import (
	"io"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Input is one layer to make: exactly one of Dir, Tar and Reader is set.
type Input struct {
	// Dir is a directory whose tree becomes the layer (engine/layer.WriteDir).
	Dir string
	// Tar is a tar file, plain or gzip or zstd compressed, whose entries
	// become the layer (engine/layer.CopyTar: paths escaping the root fail).
	Tar string
	// Reader is a tar stream, like Tar.
	Reader io.Reader
}

// Config sets fields of the image config at creation. The zero value
// changes nothing a base image set.
type Config struct {
	// Env entries, KEY=VALUE, replace the base's value of KEY or are added.
	Env []string
	// Entrypoint and Cmd, when not nil, replace the base's.
	Entrypoint, Cmd []string
	// WorkingDir and User, when not empty, replace the base's.
	WorkingDir, User string
	// Labels are added to the base's, replacing equal keys.
	Labels map[string]string
	// ExposedPorts are added to the base's: "8080" (meaning tcp), "8080/tcp", "53/udp".
	ExposedPorts []string
}

// Format of the manifests and configs written.
const (
	FormatOCI    = "oci"
	FormatDocker = "docker"
)

// Options tune Build and Append. The zero value builds an OCI image of
// gzip layers for linux on the host's architecture, created now.
type Options struct {
	// Layers are the new layers, bottom first.
	Layers []Input
	// Config sets config fields.
	Config Config
	// Platform, os/arch[/variant]: the platform of an image built on
	// scratch (default linux/<host arch>); the entry of a base index Build
	// uses (same default); the entries of an index Append changes (default
	// every one).
	Platform string
	// Format is FormatOCI or FormatDocker; "" means the base's family, OCI
	// on scratch.
	Format string
	// Compression of the new layers; "" means gzip.
	Compression layer.Compression
	// Reproducible normalises the layers (uid/gid 0, mtime SourceDateEpoch
	// or the Unix epoch, no atime/ctime) and sets the config's created time
	// and history to SourceDateEpoch or the Unix epoch, so the same inputs
	// give the same digest.
	Reproducible bool
	// SourceDateEpoch, when set, is the time layers and config carry, as
	// Reproducible does (https://reproducible-builds.org/specs/source-date-epoch/).
	SourceDateEpoch *time.Time
	// Annotations are added to the new manifests (OCI format only).
	Annotations map[string]string
	// CreatedBy is the history entry's created_by for each new layer; ""
	// means "stevedore build" or "stevedore append".
	CreatedBy string
	// TempDir is where layers are spooled before they are pushed; "" means
	// os.TempDir().
	TempDir string
	// ManifestLimit bounds manifest and config reads; <= 0 means oci.DefaultManifestLimit.
	ManifestLimit int64
}

// Base is the image Build starts from.
type Base struct {
	// Source holds the base image.
	Source transport.Source
	// Ref is the tag or digest naming it in Source ("" for a layout's only image).
	Ref string
	// Name is the base's reference as the user gave it, for the
	// org.opencontainers.image.base.name annotation; "" omits the annotations.
	Name string
}

// Result describes what Build or Append wrote and tagged.
type Result struct {
	// Digest, MediaType and Size describe the new manifest or index.
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	// Layers are the new layers, in Options.Layers' order.
	Layers []LayerResult `json:"layers"`
	// Manifests counts the image manifests written (more than one when
	// Append changed several platforms of an index).
	Manifests int `json:"manifests"`
}

// LayerResult describes one new layer.
type LayerResult struct {
	Digest    digest.Digest `json:"digest"`
	DiffID    digest.Digest `json:"diffID"`
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
}
