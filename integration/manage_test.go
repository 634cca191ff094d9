package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManagementCurl drives the management routes and the three REST upload
// routes with curl alone, as an operator without any client would.
func TestManagementCurl(t *testing.T) {
	s, err := startStevedore(t, "stevedore-manage", serveOptions{Default: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer.tar")
	if err := writeLayerTar(layer, "manage", 2); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"team/a", "team/b", "other/c"} {
		mustRun(t, nil, "crane", "append", "--oci-empty-base", "-f", layer, "-t", s.Registry+"/"+r+":v1")
	}
	api := "http://" + s.HTTP
	curl := func(args ...string) map[string]any {
		t.Helper()
		out := mustRun(t, nil, "curl", append([]string{"-sS", "--fail-with-body"}, args...)...)
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("curl %v: %s", args, out)
		}
		return v
	}
	list := curl(api + "/v1/repositories?prefix=team/&page_size=1")
	repos := list["repositories"].([]any)
	if len(repos) != 1 || repos[0].(map[string]any)["name"] != "team/a" || list["nextPageToken"] == "" {
		t.Errorf("first page: %v", list)
	}
	next := curl(api + "/v1/repositories?prefix=team/&page_size=1&page_token=" + list["nextPageToken"].(string))
	if r := next["repositories"].([]any); len(r) != 1 || r[0].(map[string]any)["name"] != "team/b" {
		t.Errorf("second page: %v", next)
	}
	usage := curl(api + "/v1/storage:usage")
	if len(usage["repositories"].([]any)) != 3 || usage["totalBytes"] != usage["sharedBytes"] {
		t.Errorf("usage of three copies of one image: %v", usage)
	}

	// Uploads: append a layer, push and attach artifacts.
	sbom := filepath.Join(dir, "sbom.json")
	if err := os.WriteFile(sbom, []byte(`{"spdxVersion":"SPDX-2.3"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	up := []string{"-H", "X-Stevedore-Upload: 1"}
	app := curl(append(up, "-F", `request={"ref":"store:team/a:v1","destination":"store:team/a:v2"};type=application/json`,
		"-F", "layer=@"+layer, api+"/v1/images:append")...)
	if d := app["result"].(map[string]any)["digest"].(string); !strings.HasPrefix(d, "sha256:") {
		t.Errorf("append: %v", app)
	}
	curl(append(up, "-F", `request={"ref":"store:team/notes:v1","artifact_type":"application/vnd.example.notes"};type=application/json`,
		"-F", "file=@"+sbom+";type=application/json", api+"/v1/artifacts:push")...)
	att := curl(append(up, "-F", `request={"ref":"store:team/a:v2","artifact_type":"application/spdx+json"};type=application/json`,
		"-F", "file=@"+sbom+";type=application/spdx+json", api+"/v1/artifacts:attach")...)
	if att["manifest"] == nil {
		t.Errorf("attach: %v", att)
	}
	// What the API wrote, the OCI port serves: crane sees the tag and the referrer.
	if tags := strings.TrimSpace(string(mustRun(t, nil, "crane", "ls", s.Registry+"/team/a"))); tags != "v1\nv2" {
		t.Errorf("crane ls team/a: %q", tags)
	}
	refs := mustRun(t, nil, "curl", "-sS", "http://"+s.Registry+"/v2/team/a/referrers/"+craneDigest(t, s.Registry+"/team/a:v2"))
	if !strings.Contains(string(refs), "application/spdx+json") {
		t.Errorf("referrers of team/a:v2: %s", refs)
	}

	del := curl("-X", "DELETE", api+"/v1/repositories/team/b")
	if del["tagsDeleted"] != float64(1) {
		t.Errorf("delete: %v", del)
	}
	gc := curl("-H", "Content-Type: application/json", "-d", `{"dry_run":true}`, api+"/v1/gc:run")
	if gc["dryRun"] != true || gc["repositories"] == nil {
		t.Errorf("gc: %v", gc)
	}
	// Without the upload header, a multipart POST is refused and nothing is written.
	r, err := run(nil, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-F", `request={"ref":"store:team/x:v1"};type=application/json`,
		"-F", "file=@"+sbom, api+"/v1/artifacts:push")
	if err != nil || string(r.Stdout) != "415" {
		t.Errorf("multipart without the header: %s %v", r.Stdout, err)
	}
}

// craneDigest is crane digest.
func craneDigest(t *testing.T, ref string) string {
	t.Helper()
	return strings.TrimSpace(string(mustRun(t, nil, "crane", "digest", ref)))
}
