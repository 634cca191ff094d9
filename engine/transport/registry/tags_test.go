package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

func TestTagsPagination(t *testing.T) {
	f := newFakeRegistry()
	var want []string
	for i := range 250 {
		tag := fmt.Sprintf("t%03d", i)
		want = append(want, tag)
		f.addManifest(oci.MediaTypeImageManifest, fmt.Appendf(nil, `{"n":%d}`, i), tag)
	}
	r := testRepo(t, f.start(t), Options{})
	got, err := r.Tags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d tags %v..., want %d", len(got), got[:min(3, len(got))], len(want))
	}
	var pages int
	for _, req := range f.requests {
		if req == "GET /v2/t/x/tags/list" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d page requests, want 3", pages)
	}
}

func TestTagsLinkForms(t *testing.T) {
	tests := []struct {
		name  string
		links map[string]string // page query -> Link header
		want  []string
	}{
		{"absolute link", map[string]string{"": `<{base}/v2/t/x/tags/list?last=a>; rel="next"`}, []string{"a", "b"}},
		{"relative no slash", map[string]string{"": `<list?last=a>; rel=next`}, []string{"a", "b"}},
		{"several entries", map[string]string{"": `<https://elsewhere/prev>; rel="prev", </v2/t/x/tags/list?last=a>; rel="next"`}, []string{"a", "b"}},
		{"loop guard", map[string]string{"": `</v2/t/x/tags/list?last=a>; rel="next"`, "last=a": `</v2/t/x/tags/list>; rel="next"`}, []string{"a", "b"}},
		{"self link", map[string]string{"": `</v2/t/x/tags/list>; rel="next"`}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.RawQuery
				if l, ok := tt.links[q]; ok {
					w.Header().Set("Link", strings.ReplaceAll(l, "{base}", srv.URL))
				}
				tag := "a"
				if q != "" {
					tag = "b"
				}
				fmt.Fprintf(w, `{"name":"t/x","tags":[%q]}`, tag)
			}))
			defer srv.Close()
			r := testRepo(t, srv, Options{})
			got, err := r.Tags(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTagsEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"t/x","tags":null}`)
	}))
	defer srv.Close()
	got, err := testRepo(t, srv, Options{}).Tags(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %#v, %v; want empty non-nil", got, err)
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct{ in, want string }{
		{`</v2/x/tags/list?n=2&last=b>; rel="next"`, "/v2/x/tags/list?n=2&last=b"},
		{`<a,b>; rel="prev", <c>; rel="next"`, "c"},
		{`<c>; rel="prev next"`, "c"},
		{`<c>; REL=NEXT`, "c"},
		{`<c>`, ""},
		{`c; rel=next`, ""},
		{``, ""},
		{`<>; rel=next`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := nextLink([]string{tt.in}); got != tt.want {
				t.Errorf("nextLink(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNextLink(f *testing.F) {
	f.Add(`</v2/x/tags/list?n=2&last=b>; rel="next"`)
	f.Add(`<a,b>; rel="prev", <c>; rel="next"`)
	f.Fuzz(func(t *testing.T, s string) { nextLink([]string{s}) })
}
