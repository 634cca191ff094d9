package registryhttp_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

const ociIndex = "application/vnd.oci.image.index.v1+json"

// A manifest PUT that is refused leaves no repository behind: the catalog
// and the tags endpoint do not know the name afterwards.
func TestRefusedManifestCreatesNoRepository(t *testing.T) {
	s := newServer(t, "")
	missing := digest.FromString("never pushed")
	ct := []string{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}
	for _, tc := range []struct {
		name string
		body string
		code string
	}{
		{"blob unknown", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + missing.String() + `","size":4},"layers":[]}`, "MANIFEST_BLOB_UNKNOWN"},
		{"invalid", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`, "MANIFEST_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do("PUT", "/v2/refused/"+strings.ReplaceAll(tc.name, " ", "-")+"/manifests/v1", []byte(tc.body), ct...)
			if r.status != http.StatusBadRequest || r.code() != tc.code {
				t.Fatalf("PUT = %d %s, want 400 %s: %s", r.status, r.code(), tc.code, r.body)
			}
		})
	}
	if r := s.mustStatus(s.do("GET", "/v2/_catalog", nil), http.StatusOK); string(r.body) != `{"repositories":[]}` {
		t.Fatalf("catalog after refused pushes = %s", r.body)
	}
	if r := s.do("GET", "/v2/refused/blob-unknown/tags/list", nil); r.status != http.StatusNotFound || r.code() != "NAME_UNKNOWN" {
		t.Fatalf("tags of the refused repository = %d %s", r.status, r.code())
	}
}

// A sparse index, listing platforms the repository does not hold (copy
// --platforms --sparse), is accepted; a child that is present must still
// have the size the index says.
//
// distribution-spec v1.1.1 §Push: a registry MAY reject such a manifest,
// so it may accept it.
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#push
func TestSparseIndex(t *testing.T) {
	s := newServer(t, "")
	img, d := s.pushImage("sparse/app", "amd64", nil, "")
	absent := digest.FromString("an arm64 manifest never pushed")
	index := func(size int) []byte {
		b, _ := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     ociIndex,
			"manifests": []any{
				map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size,
					"platform": map[string]string{"os": "linux", "architecture": "amd64"}},
				map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": absent, "size": 999,
					"platform": map[string]string{"os": "linux", "architecture": "arm64"}},
			},
		})
		return b
	}
	good := index(len(img))
	s.mustStatus(s.do("PUT", "/v2/sparse/app/manifests/multi", good, "Content-Type", ociIndex), http.StatusCreated)
	if r := s.mustStatus(s.do("GET", "/v2/sparse/app/manifests/multi", nil), http.StatusOK); string(r.body) != string(good) {
		t.Fatalf("the index reads back as %s", r.body)
	}
	// Into a repository that does not exist yet, too.
	s.mustStatus(s.do("PUT", "/v2/sparse/new/manifests/multi", good, "Content-Type", ociIndex), http.StatusCreated)
	r := s.do("PUT", "/v2/sparse/app/manifests/bad", index(len(img)+1), "Content-Type", ociIndex)
	if r.status != http.StatusBadRequest || r.code() != "MANIFEST_INVALID" {
		t.Fatalf("index with a wrong child size = %d %s, want 400 MANIFEST_INVALID", r.status, r.code())
	}
}

// n is capped at 1000 with a Link to the next page; following the Links
// lists every tag once.
func TestPageSizeCapped(t *testing.T) {
	s := newServer(t, "")
	s.pushImage("many/tags", "v0", nil, "")
	// 1200 more tags, written into the layout's index.json at once (a PUT
	// per tag rewrites it each time).
	p := filepath.Join(s.data, "repos", "many", "tags", "_oci", "index.json")
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType,omitempty"`
		Manifests     []map[string]any `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json = %s (%v)", raw, err)
	}
	for i := range 1200 {
		e := maps.Clone(idx.Manifests[0])
		e["annotations"] = map[string]string{"org.opencontainers.image.ref.name": fmt.Sprintf("t%04d", i)}
		idx.Manifests = append(idx.Manifests, e)
	}
	if raw, err = json.Marshal(idx); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	seen := 0
	next := "/v2/many/tags/tags/list?n=2147483648"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than 1201 tags need")
		}
		r := s.mustStatus(s.do("GET", next, nil), http.StatusOK)
		var list struct{ Tags []string }
		if err := json.Unmarshal(r.body, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Tags) > 1000 {
			t.Fatalf("a page of %d tags", len(list.Tags))
		}
		seen += len(list.Tags)
		next = ""
		if link := r.header.Get("Link"); link != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			if !strings.Contains(next, "n=1000") {
				t.Errorf("Link %q does not carry the capped n", link)
			}
		}
	}
	if seen != 1201 {
		t.Errorf("pages list %d tags, want 1201", seen)
	}
}
