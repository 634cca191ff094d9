package service

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// multipartBody builds an upload: the request part, then parts (name,
// filename, content type, content).
func multipartBody(t *testing.T, request string, parts ...[4]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="request"`)
	h.Set("Content-Type", "application/json")
	w, _ := mw.CreatePart(h)
	io.WriteString(w, request)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p[0]+`"; filename="`+p[1]+`"`)
		if p[2] != "" {
			h.Set("Content-Type", p[2])
		}
		w, _ := mw.CreatePart(h)
		io.WriteString(w, p[3])
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// TestRESTUploads: the three client-streaming RPCs over REST, as multipart
// uploads, and what a malformed one gets.
func TestRESTUploads(t *testing.T) {
	f := newImageFixture(t)
	srv := startGateway(t)
	post := func(path string, body io.Reader, ctype string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return resp.StatusCode, out
	}
	body, ct := multipartBody(t, `{"ref":"`+f.ref(":app")+`","destination":"`+f.ref(":appended")+`"}`, [4]string{"layer", "layer.tar", "application/x-tar", string(layerTar(t, layerEntry{name: "hello.txt", body: "hello"}))})
	if code, out := post("/v1/images:append", body, ct); code != 200 || !strings.HasPrefix(out["result"].(map[string]any)["digest"].(string), "sha256:") {
		t.Errorf("append: %d %v", code, out)
	}
	body, ct = multipartBody(t, `{"ref":"`+f.ref(":art")+`","artifact_type":"application/vnd.example"}`,
		[4]string{"file", "a.txt", "text/plain", "aaa"}, [4]string{"file", "b.bin", "", "bbbb"})
	code, out := post("/v1/artifacts:push", body, ct)
	if code != 200 {
		t.Fatalf("push: %d %v", code, out)
	}
	body, ct = multipartBody(t, `{"ref":"`+f.ref(":app")+`","artifact_type":"application/spdx+json"}`, [4]string{"file", "sbom.json", "application/spdx+json", "{}"})
	if code, out := post("/v1/artifacts:attach", body, ct); code != 200 || out["manifest"] == nil {
		t.Errorf("attach: %d %v", code, out)
	}
	if _, doc := get(t, srv, "/openapi.json", nil); !bytes.Contains(doc, []byte(`"/v1/images:append"`)) ||
		!bytes.Contains(doc, []byte(`"/v1/artifacts:attach"`)) || !bytes.Contains(doc, []byte(`"v1PushArtifactResponse"`)) {
		t.Error("/openapi.json does not document the upload routes")
	}
	for _, c := range []struct {
		name, path string
		body       func() (io.Reader, string)
		want       int
	}{
		{"not multipart", "/v1/artifacts:push", func() (io.Reader, string) { return strings.NewReader("{}"), "application/json" }, 400},
		{"request part missing", "/v1/artifacts:push", func() (io.Reader, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			w, _ := mw.CreateFormFile("file", "x")
			io.WriteString(w, "x")
			mw.Close()
			return &buf, mw.FormDataContentType()
		}, 400},
		{"no files", "/v1/artifacts:push", func() (io.Reader, string) { return multipartBody(t, `{"ref":"`+f.ref(":none")+`"}`) }, 400},
		{"bad request JSON", "/v1/images:append", func() (io.Reader, string) { return multipartBody(t, `{"ref":`) }, 400},
		{"append without layer", "/v1/images:append", func() (io.Reader, string) { return multipartBody(t, `{"destination":"`+f.ref(":x")+`"}`) }, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, ct := c.body()
			if code, out := post(c.path, b, ct); code != c.want {
				t.Errorf("%d, want %d: %v", code, c.want, out)
			}
		})
	}
}
