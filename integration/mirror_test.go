package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mirrorReport is the part of `stevedore mirror --json` the tests read.
type mirrorReport struct {
	DryRun  bool `json:"dryRun"`
	Summary struct {
		Images, Copied, Skipped, Failed, WouldCopy int
		Bytes                                      int64
		BlobsCopied                                int `json:"blobsCopied"`
	} `json:"summary"`
	Images []struct {
		Source         string `json:"source"`
		SourceDigest   string `json:"sourceDigest"`
		Destination    string `json:"destination"`
		PreviousDigest string `json:"previousDigest"`
		Action         string `json:"action"`
		Reason         string `json:"reason"`
		Bytes          int64  `json:"bytes"`
		Error          *struct {
			Code, Origin, Message string
		} `json:"error"`
	} `json:"images"`
}

// sdMirror runs `stevedore mirror --json` and returns the report and exit code.
func sdMirror(t *testing.T, cfg string, args ...string) (mirrorReport, int) {
	t.Helper()
	r, err := run(nil, stevedoreBin, append(append([]string{"mirror", "--json"}, args...), cfg)...)
	if err != nil {
		t.Fatal(err)
	}
	var rep mirrorReport
	if r.Code != 2 {
		if err := json.Unmarshal(r.Stdout, &rep); err != nil {
			t.Fatalf("stevedore mirror: exit %d, report not JSON (%v)\nstdout: %s\nstderr: %s", r.Code, err, r.Stdout, r.Stderr)
		}
	}
	return rep, r.Code
}

func writeConfig(t *testing.T, format string, args ...any) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mirror.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(format, args...)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMirror: a distribution registry holding crane-built images mirrored
// into stevedore's registry port; crane agrees on every digest and
// validates what arrived; a second run skips everything and sends nothing;
// a tag moved at the source is noticed by --dry-run, then copied; a
// missing image fails alone with exit status 1; a bad config is a usage error.
func TestMirror(t *testing.T) {
	f := sharedFixtures(t)
	s := sharedServer(t)
	src := f.Dist.Host + "/mirror-src/app"
	crane(t, "copy", f.image(t, "oci").Ref(), src+":a")
	crane(t, "copy", f.image(t, "docker").Ref(), src+":b")
	crane(t, "copy", f.image(t, "index").Ref(), src+":multi")
	crane(t, "copy", f.image(t, "oci").Ref(), src+":skip-me")
	cfg := writeConfig(t, `
concurrency: 4
destination: {registry: %q, prefix: mirror-it, stripPrefix: mirror-src}
sources:
  - repository: docker://%s
    tags: {deny: ['^skip-']}
  - images: ['%s']
    platforms: [linux/arm64]
    destination: {repository: mirror-it/arm}
`, s.Registry, src, f.image(t, "index").Ref())
	dst := s.Registry + "/mirror-it/app"

	rep, code := sdMirror(t, cfg)
	if code != 0 || rep.Summary.Copied != 4 || rep.Summary.Failed != 0 {
		t.Fatalf("cold mirror: exit %d, summary %+v", code, rep.Summary)
	}
	for _, tag := range []string{"a", "b", "multi"} {
		want := craneSees(t, src+":"+tag).Digest
		if got := craneSees(t, dst+":"+tag).Digest; got != want {
			t.Errorf("%s:%s digest %s, want %s", dst, tag, got, want)
		}
		crane(t, "validate", "--remote", dst+":"+tag)
	}
	if r, _ := run(nil, "crane", "digest", dst+":skip-me"); r.Code == 0 {
		t.Error("denied tag skip-me was mirrored")
	}
	arm := craneSees(t, f.image(t, "arm64").Ref()).Digest
	if got := craneSees(t, s.Registry+"/mirror-it/arm:v1").Digest; got != arm {
		t.Errorf("platform-filtered image digest %s, want the arm64 manifest %s", got, arm)
	}

	again, code := sdMirror(t, cfg)
	if code != 0 || again.Summary.Skipped != 4 || again.Summary.Bytes != 0 || again.Summary.BlobsCopied != 0 {
		t.Errorf("second mirror: exit %d, summary %+v, want 4 skipped and nothing sent", code, again.Summary)
	}

	crane(t, "copy", f.image(t, "docker").Ref(), src+":a")
	moved := craneSees(t, src+":a").Digest
	dry, code := sdMirror(t, cfg, "--dry-run")
	if code != 0 || !dry.DryRun || dry.Summary.WouldCopy != 1 || dry.Summary.Skipped != 3 {
		t.Errorf("dry run after a move: exit %d, summary %+v", code, dry.Summary)
	}
	for _, im := range dry.Images {
		if strings.HasSuffix(im.Source, ":a") && (im.Action != "would-copy" || im.Reason != "moved" || im.SourceDigest != moved) {
			t.Errorf("dry run, moved tag: %+v", im)
		}
	}
	if got := craneSees(t, dst+":a").Digest; got == moved {
		t.Error("--dry-run moved the destination tag")
	}
	rep, code = sdMirror(t, cfg)
	if code != 0 || rep.Summary.Copied != 1 || rep.Summary.Skipped != 3 {
		t.Errorf("mirror after a move: exit %d, summary %+v", code, rep.Summary)
	}
	if got := craneSees(t, dst+":a").Digest; got != moved {
		t.Errorf("moved tag at the destination is %s, want %s", got, moved)
	}

	failing := writeConfig(t, `
destination: {registry: %q, prefix: mirror-it}
sources:
  - images: ['%s/mirror-src/missing:v1', '%s:b']
`, s.Registry, f.Dist.Host, src)
	rep, code = sdMirror(t, failing)
	if code != 1 || rep.Summary.Failed != 1 || rep.Summary.Copied != 1 {
		t.Errorf("one missing image: exit %d, summary %+v; want exit 1, 1 failed, 1 copied", code, rep.Summary)
	}
	if im := rep.Images[0]; im.Action != "failed" || im.Error == nil || im.Error.Code != "NOT_FOUND" || im.Error.Origin != "source" {
		t.Errorf("missing image entry %+v", im)
	}

	bad := writeConfig(t, "destination: {registry: %q}\nsources: [{repository: %s, tag: x}]\n", s.Registry, src)
	if _, code := sdMirror(t, bad); code != 2 {
		t.Errorf("unknown config key: exit %d, want 2", code)
	}
}
