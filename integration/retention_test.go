package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// imageManifest is the OCI manifest of config and layers, as pusher
// pushes them.
func imageManifest(config []byte, layers ...[]byte) []byte {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, "application/vnd.oci.image.manifest.v1+json", desc{"application/vnd.oci.image.config.v1+json", sha256Of(config), len(config)}, []desc{}}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc{"application/vnd.oci.image.layer.v1.tar+gzip", sha256Of(l), len(l)})
	}
	raw, _ := json.Marshal(m)
	return raw
}

// uniqueImage is a config and a layer of n random bytes, unique to label.
func uniqueImage(t *testing.T, label string, n int) (config, layer []byte) {
	t.Helper()
	content := make([]byte, n)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	layer, diff := tarGz(t, label, content)
	config = fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","config":{"Labels":{"image":%q}},"rootfs":{"type":"layers","diff_ids":[%q]}}`, label, diff)
	return config, layer
}

// retentionKey names an action the way the test compares them.
func retentionKey(a *stevedorev1.RetentionAction) string {
	if a.GetTag() != "" {
		return a.GetRepository() + ":" + a.GetTag()
	}
	return a.GetRepository() + "@" + a.GetDigest()
}

func retentionKeys(as []*stevedorev1.RetentionAction) []string {
	var out []string
	for _, a := range as {
		out = append(out, retentionKey(a))
	}
	slices.Sort(out)
	return out
}

// TestRetention: the policies of the config file, run on request: the dry
// run lists exactly what the run then removes; what stays — the newest
// tags, a protected one, one just pulled (a pull in progress), the
// signature of a kept image — still pulls and validates after the
// collection that follows, and what went is gone, bytes included.
func TestRetention(t *testing.T) {
	cfg := writeServeConfig(t, `
gc-grace: 1s
retention:
  pullGrace: 10m
  policies:
    - repositories: "ret/**"
      keepLast: 2
      keepTags: ["^keep-"]
      removeUntagged: true
`)
	s, err := startStevedore(t, "serve-retention", serveOptions{Args: []string{"--config", cfg}})
	if err != nil {
		t.Fatal(err)
	}
	client := stevedorev1.NewImageServiceClient(s.Conn)
	ctx := context.Background()
	p := &pusher{base: "http://" + s.Registry + "/v2/ret/app"}
	repo := s.Registry + "/ret/app"

	// Oldest first: t1, keep-me, t2, t3, t4, t5.
	digests := map[string]string{}
	sizes := map[string]int{}
	layers := map[string]string{}
	for _, tag := range []string{"t1", "keep-me", "t2", "t3", "t4", "t5"} {
		config, layer := uniqueImage(t, tag, 256<<10)
		d, _, err := p.pushImage(tag, config, [][]byte{layer})
		if err != nil {
			t.Fatal(err)
		}
		digests[tag], layers[tag], sizes[tag] = d, sha256Of(layer), len(imageManifest(config, layer))
		time.Sleep(20 * time.Millisecond) // distinct push times
	}
	// An untagged image nothing reaches, pushed by digest.
	oc, ol := uniqueImage(t, "orphan", 1024)
	for _, b := range [][]byte{oc, ol} {
		if err := p.do(http.MethodPost, "/blobs/uploads/?digest="+sha256Of(b), "application/octet-stream", b, http.StatusCreated); err != nil {
			t.Fatal(err)
		}
	}
	orphan := imageManifest(oc, ol)
	if err := p.do(http.MethodPut, "/manifests/"+sha256Of(orphan), "application/vnd.oci.image.manifest.v1+json", orphan, http.StatusCreated); err != nil {
		t.Fatal(err)
	}
	// Signatures (OCI 1.1 referrers, pushed by digest, untagged) of t5, kept,
	// and t1, not. Pushed by hand: a tool would read t1 and t5 first, which
	// the registry counts as pulls (and keeps them for the pull grace).
	attach := func(tag string) string {
		empty, sig := []byte("{}"), []byte("signature of "+tag)
		for _, b := range [][]byte{empty, sig} {
			if err := p.do(http.MethodPost, "/blobs/uploads/?digest="+sha256Of(b), "application/octet-stream", b, http.StatusCreated); err != nil {
				t.Fatal(err)
			}
		}
		subject, _ := json.Marshal(map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digests[tag], "size": sizes[tag]})
		raw := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.test.sig",`+
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},`+
			`"layers":[{"mediaType":"text/plain","digest":%q,"size":%d}],"subject":%s}`, sha256Of(empty), sha256Of(sig), len(sig), subject)
		if err := p.do(http.MethodPut, "/manifests/"+sha256Of(raw), "application/vnd.oci.image.manifest.v1+json", raw, http.StatusCreated); err != nil {
			t.Fatal(err)
		}
		return sha256Of(raw)
	}
	sigT5, sigT1 := attach("t5"), attach("t1")

	// t2 is being pulled: its manifest was read a moment ago.
	crane(t, "manifest", repo+":t2")
	time.Sleep(1100 * time.Millisecond) // what goes is past the collector's grace

	want := []string{
		"ret/app:t1", "ret/app:t3",
		"ret/app@" + sha256Of(orphan), "ret/app@" + sigT1,
	}
	slices.Sort(want)

	dry, err := client.RunRetention(ctx, &stevedorev1.RunRetentionRequest{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := retentionKeys(dry.GetRemoved()); !slices.Equal(got, want) || !dry.GetDryRun() || dry.GetGc() != nil {
		t.Fatalf("dry run removes %v, want %v (%v)", got, want, dry)
	}
	if dry.GetRepositories() != 1 || dry.GetTagsKept() != 4 {
		t.Errorf("dry run: %d repositories, %d tags kept; want 1 and 4", dry.GetRepositories(), dry.GetTagsKept())
	}
	res, err := client.RunRetention(ctx, &stevedorev1.RunRetentionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := retentionKeys(res.GetRemoved()); !slices.Equal(got, retentionKeys(dry.GetRemoved())) || len(res.GetKept()) != 0 {
		t.Fatalf("the run removed %v (kept %v), the dry run listed %v", got, res.GetKept(), retentionKeys(dry.GetRemoved()))
	}
	if res.GetGc() == nil || res.GetGc().GetFreedBytes() < 2*(256<<10) {
		t.Errorf("collection after the run: %v, want the two removed layers' bytes freed", res.GetGc())
	}
	t.Logf("removed %d, collection freed %d bytes", len(res.GetRemoved()), res.GetGc().GetFreedBytes())

	for _, tag := range []string{"keep-me", "t2", "t4", "t5"} {
		crane(t, "validate", "--remote", repo+":"+tag)
		if got := strings.TrimSpace(string(crane(t, "digest", repo+":"+tag))); got != digests[tag] {
			t.Errorf("%s is %s, pushed as %s", tag, got, digests[tag])
		}
		crane(t, "pull", repo+":"+tag, filepath.Join(t.TempDir(), tag+".tar"))
	}
	disc := string(mustRun(t, nil, "oras", "discover", "--plain-http", "--format", "json", repo+":t5"))
	if !strings.Contains(disc, sigT5) {
		t.Errorf("t5's signature %s is no longer its referrer: %s", sigT5, disc)
	}
	for _, tag := range []string{"t1", "t3"} {
		if r, _ := run(nil, "crane", "digest", repo+":"+tag); r.Code == 0 {
			t.Errorf("%s still resolves", tag)
		}
		if err := p.do(http.MethodHead, "/blobs/"+layers[tag], "", nil, http.StatusNotFound); err != nil {
			t.Errorf("%s's layer: %v", tag, err)
		}
	}
	for _, d := range []string{sha256Of(orphan), sigT1, digests["t1"]} {
		if err := p.do(http.MethodHead, "/manifests/"+d, "", nil, http.StatusNotFound); err != nil {
			t.Errorf("manifest %s: %v", d, err)
		}
	}

	// Another run finds nothing more to remove; the metrics count the first.
	again, err := client.RunRetention(ctx, &stevedorev1.RunRetentionRequest{DryRun: true})
	if err != nil || len(again.GetRemoved()) != 0 {
		t.Errorf("dry run after the run: %v, %v", again.GetRemoved(), err)
	}
	// The same over REST.
	resp, err := http.Post("http://"+s.HTTP+"/v1/retention:run", "application/json", strings.NewReader(`{"dry_run": true}`))
	if err != nil {
		t.Fatal(err)
	}
	var rest struct {
		DryRun  bool              `json:"dryRun"`
		Removed []json.RawMessage `json:"removed"`
	}
	err = json.NewDecoder(resp.Body).Decode(&rest)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !rest.DryRun || len(rest.Removed) != 0 {
		t.Errorf("POST /v1/retention:run: %s %+v %v", resp.Status, rest, err)
	}
	if v := metricValue(t, s.HTTP, `stevedore_retention_removed_total{kind="tag"}`); v != 2 {
		t.Errorf("stevedore_retention_removed_total{kind=tag} = %v, want 2", v)
	}
	// The pull log reaches the disk (batched: at the run, then every 30s).
	if b, err := os.ReadFile(filepath.Join(s.Data, "retention", "pulls.json")); err != nil || !strings.Contains(string(b), `"t2"`) {
		t.Errorf("pull log: %s, %v", b, err)
	}
}
