package mirror

import (
	"errors"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

const exampleConfig = `
concurrency: 8
blobConcurrency: 4
referrers: true
platforms: [linux/amd64]
destination:
  registry: 127.0.0.1:5000
  prefix: mirror
  stripPrefix: library
sources:
  - repository: docker://docker.io/library/alpine
    tags:
      allow: ['^3\.\d+$']
      deny: ['^3\.1$']
      semver: '>= 3.18'
      newest: 3
      order: semver
  - repository: ghcr.io/org/app
    platforms: []
    referrers: false
    destination: {repository: apps/app}
  - images:
      - docker://ghcr.io/org/tool:v1
      - ghcr.io/org/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(exampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Concurrency != 8 || len(c.Sources) != 3 || c.Sources[0].Tags.Newest != 3 || *c.Sources[1].Referrers || c.Sources[1].Platforms == nil {
		t.Errorf("parsed %+v", c)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := "destination: {registry: 127.0.0.1:5000}\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty"},
		{"unknown key", base + "sources: [{repository: a.example/b, tag: {}}]\n", "field tag not found"},
		{"unknown top key", base + "source: []\n", "field source not found"},
		{"no sources", base, "sources: none given"},
		{"both", base + "sources: [{repository: a.example/b, images: [a.example/b:v1]}]\n", "not both"},
		{"neither", base + "sources: [{}]\n", "set repository or images"},
		{"repository with tag", base + "sources: [{repository: 'a.example/b:v1'}]\n", "takes no tag"},
		{"repository with latest", base + "sources: [{repository: 'a.example/b:latest'}]\n", "takes no tag"},
		{"oci source", base + "sources: [{repository: 'oci:/tmp/x'}]\n", "only docker://"},
		{"bad image", base + "sources: [{images: ['A//b']}]\n", "images[0]"},
		{"tags on images", base + "sources: [{images: [a.example/b:v1], tags: {newest: 1}}]\n", "not to explicit images"},
		{"bad regex", base + "sources: [{repository: a.example/b, tags: {allow: ['(']}}]\n", "allow[0]"},
		{"bad deny regex", base + "sources: [{repository: a.example/b, tags: {deny: ['[']}}]\n", "deny[0]"},
		{"bad semver", base + "sources: [{repository: a.example/b, tags: {semver: '>>1'}}]\n", "semver"},
		{"bad order", base + "sources: [{repository: a.example/b, tags: {newest: 1, order: date}}]\n", "order"},
		{"order without newest", base + "sources: [{repository: a.example/b, tags: {order: lexical}}]\n", "only meaningful with newest"},
		{"negative newest", base + "sources: [{repository: a.example/b, tags: {newest: -1}}]\n", "newest -1"},
		{"bad platform", base + "platforms: [linux]\nsources: [{repository: a.example/b}]\n", "os/arch"},
		{"no registry", "sources: [{repository: a.example/b}]\n", "no destination registry"},
		{"bad registry", "destination: {registry: 'a b'}\nsources: [{repository: a.example/b}]\n", "host[:port]"},
		{"bad prefix", base + "sources: [{repository: a.example/b, destination: {prefix: UPPER}}]\n", "prefix"},
		{"repository and prefix", base + "sources: [{repository: a.example/b, destination: {repository: x, prefix: y}}]\n", "outright"},
		{"top-level repository", "destination: {registry: r.example, repository: x}\nsources: [{repository: a.example/b}]\n", "only a source's"},
		{"negative concurrency", base + "concurrency: -1\nsources: [{repository: a.example/b}]\n", "concurrency -1"},
		{"wrong type", base + "concurrency: many\nsources: [{repository: a.example/b}]\n", "cannot unmarshal"},
		{"two documents", base + "sources: [{repository: a.example/b}]\n---\nx: 1\n", "more than one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tc.want)
			}
			if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}
