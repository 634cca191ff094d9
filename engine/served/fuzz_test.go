package served_test

import (
	"testing"

	"github.com/stevedore-dev/stevedore/engine/served"
)

// FuzzParseManifest: the validator never panics, and whatever it accepts
// names a manifest media type.
func FuzzParseManifest(f *testing.F) {
	f.Add("application/vnd.oci.image.manifest.v1+json", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	f.Add("application/vnd.oci.image.index.v1+json", []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}],"subject":{"mediaType":"x","digest":"sha256:zz","size":1}}`))
	f.Add("application/vnd.docker.distribution.manifest.v2+json", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{}}`))
	f.Add("", []byte(`{"schemaVersion":1,"fsLayers":[]}`))
	f.Add("text/plain; charset=", []byte(`null`))
	f.Fuzz(func(t *testing.T, contentType string, raw []byte) {
		m, err := served.ParseManifest(contentType, raw)
		if err == nil && (m == nil || m.MediaType == "") {
			t.Fatalf("accepted without a media type: %+v", m)
		}
	})
}
