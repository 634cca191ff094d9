package integration

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// hostileCase is one malformed or abusive request and the exact answer it
// must get: status, and the OCI error code ("" when the answer carries none:
// a plain-text 4xx, which the spec allows, or net/http's own refusal).
type hostileCase struct {
	name   string
	raw    string // the request as sent on the wire
	status int
	code   string
}

// req writes an HTTP/1.1 request: target as given (never re-escaped),
// header pairs, Content-Length when body is not nil, Connection: close.
func req(method, target string, body []byte, header ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", method, target)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.String()
}

// sendRaw sends raw on a new connection and reads one response.
func sendRaw(addr, raw string) (*http.Response, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	// Write in the background: the server may answer (and stop reading)
	// before the whole request is sent.
	go func() { _, _ = io.WriteString(c, raw) }()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, body, nil
}

// ociCode is the first code of an error envelope, "" for any other body.
func ociCode(res *http.Response, body []byte) string {
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return ""
	}
	var env struct{ Errors []struct{ Code string } }
	if json.Unmarshal(body, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Code
}

// storeSnapshot hashes every file of the data directory's repositories and
// blob pool (upload sessions aside: opening one is what some requests are
// for), so that a refused request is seen to have changed nothing.
func storeSnapshot(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"repos", "blobs"} {
		root := filepath.Join(data, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == root {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(data, p)
			if d.IsDir() {
				out[rel+"/"] = "dir"
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func diffSnapshots(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, "changed or removed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}

// hostileFixture is what the cases aim at: an image, an index, a referrer
// and an open upload session in good/repo of a fresh server.
type hostileFixture struct {
	s          *stevedoreServer
	manifest   []byte
	mdigest    string
	layer      string // digest of a 3000-byte layer
	configDesc string
	upload     string // Location of an open session
}

func newHostileFixture(t *testing.T, s *stevedoreServer) *hostileFixture {
	t.Helper()
	f := &hostileFixture{s: s}
	push := func(raw string, want int) *http.Response {
		t.Helper()
		res, body, err := sendRaw(s.Registry, raw)
		if err != nil || res.StatusCode != want {
			t.Fatalf("fixture: %v %v %s", res, err, body)
		}
		return res
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := bytes.Repeat([]byte("L"), 3000)
	for _, b := range [][]byte{cfg, layer} {
		push(req("POST", "/v2/good/repo/blobs/uploads/?digest="+sha256Digest(b), b), http.StatusCreated)
	}
	f.layer = sha256Digest(layer)
	f.configDesc = fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d}`, sha256Digest(cfg), len(cfg))
	f.manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		f.configDesc, f.layer, len(layer)))
	f.mdigest = sha256Digest(f.manifest)
	push(req("PUT", "/v2/good/repo/manifests/v1", f.manifest, "Content-Type", ociManifest), http.StatusCreated)
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":%q,"digest":%q,"size":%d,"platform":{"os":"linux","architecture":"amd64"}}]}`,
		ociManifest, f.mdigest, len(f.manifest))
	push(req("PUT", "/v2/good/repo/manifests/multi", []byte(index), "Content-Type", ociIndex), http.StatusCreated)
	ref := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":{"mediaType":%q,"digest":%q,"size":%d}}`,
		ociManifest, f.configDesc, ociManifest, f.mdigest, len(f.manifest))
	push(req("PUT", "/v2/good/repo/manifests/sig", []byte(ref), "Content-Type", ociManifest), http.StatusCreated)
	f.upload = push(req("POST", "/v2/good/repo/blobs/uploads/", nil), http.StatusAccepted).Header.Get("Location")
	return f
}

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociIndex    = "application/vnd.oci.image.index.v1+json"
)

// hostileCases are the tier's requests, by category.
func hostileCases(f *hostileFixture) map[string][]hostileCase {
	unknown := sha256Digest([]byte("never pushed"))
	ct := []string{"Content-Type", ociManifest}
	m := string(f.manifest)
	put := func(name, body string, header []string, status int, code string) hostileCase {
		return hostileCase{name, req("PUT", "/v2/good/repo/manifests/x", []byte(body), header...), status, code}
	}
	get := func(name, target string, status int, code string, header ...string) hostileCase {
		return hostileCase{name, req("GET", target, nil, header...), status, code}
	}
	withMT := func(mt string) string { return strings.Replace(m, ociManifest, mt, 1) }
	up := f.upload
	blob := "/v2/good/repo/blobs/" + f.layer
	return map[string][]hostileCase{
		"names": {
			get("uppercase", "/v2/Good/repo/tags/list", 400, "NAME_INVALID"),
			get("dotdot", "/v2/good/../repo/tags/list", 400, "NAME_INVALID"),
			get("encoded dotdot", "/v2/good/%2e%2e/repo/manifests/v1", 400, "NAME_INVALID"),
			get("encoded slash dotdot", "/v2/good%2F..%2F..%2Fetc/manifests/v1", 400, "NAME_INVALID"),
			get("dot component", "/v2/good/./repo/tags/list", 400, "NAME_INVALID"),
			get("empty component", "/v2/good//repo/tags/list", 400, "NAME_INVALID"),
			get("leading separator", "/v2/-good/tags/list", 400, "NAME_INVALID"),
			get("trailing separator", "/v2/good_/tags/list", 400, "NAME_INVALID"),
			get("three underscores", "/v2/go___od/tags/list", 400, "NAME_INVALID"),
			get("layout leaf", "/v2/good/repo/_oci/tags/list", 400, "NAME_INVALID"),
			get("referrers leaf", "/v2/good/repo/_referrers/tags/list", 400, "NAME_INVALID"),
			get("256 characters", "/v2/"+strings.Repeat("a", 256)+"/tags/list", 400, "NAME_INVALID"),
			get("unicode", "/v2/g%C3%B6od/tags/list", 400, "NAME_INVALID"),
			get("NUL", "/v2/good%00/tags/list", 400, "NAME_INVALID"),
			get("space", "/v2/go%20od/tags/list", 400, "NAME_INVALID"),
			get("backslash", "/v2/good%5Crepo/tags/list", 400, "NAME_INVALID"),
			get("unknown repository", "/v2/no/such/tags/list", 404, "NAME_UNKNOWN"),
			get("unknown repository manifest", "/v2/no/such/manifests/v1", 404, "NAME_UNKNOWN"),
			get("unknown repository blob", "/v2/no/such/blobs/"+f.layer, 404, "NAME_UNKNOWN"),
			get("no name", "/v2/manifests/v1", 404, ""),
			{"name invalid on push", req("PUT", "/v2/BAD/manifests/v1", f.manifest, ct...), 400, "NAME_INVALID"},
			{"name invalid on upload", req("POST", "/v2/bad!/blobs/uploads/", nil), 400, "NAME_INVALID"},
			get("name invalid on referrers", "/v2/Bad/referrers/"+f.mdigest, 400, "NAME_INVALID"),
		},
		"digests": {
			get("short hex", "/v2/good/repo/blobs/sha256:abc", 400, "DIGEST_INVALID"),
			get("uppercase hex", "/v2/good/repo/blobs/"+strings.ToUpper(f.layer), 400, "DIGEST_INVALID"),
			get("md5", "/v2/good/repo/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", 400, "DIGEST_INVALID"),
			get("sha512 of the wrong length", "/v2/good/repo/blobs/sha512:"+strings.Repeat("a", 64), 400, "DIGEST_INVALID"),
			get("empty hex", "/v2/good/repo/blobs/sha256:", 400, "DIGEST_INVALID"),
			get("no colon", "/v2/good/repo/blobs/sha256", 400, "DIGEST_INVALID"),
			get("non-hex", "/v2/good/repo/blobs/sha256:"+strings.Repeat("g", 64), 400, "DIGEST_INVALID"),
			get("unknown algorithm", "/v2/good/repo/blobs/foo:"+strings.Repeat("a", 64), 400, "DIGEST_INVALID"),
			get("10k characters", "/v2/good/repo/blobs/sha256:"+strings.Repeat("a", 10000), 400, "DIGEST_INVALID"),
			get("traversal", "/v2/good/repo/blobs/sha256:..%2F..%2Findex.json", 404, ""),
			get("dots", "/v2/good/repo/blobs/sha256:..", 400, "DIGEST_INVALID"),
			get("unknown blob", "/v2/good/repo/blobs/"+unknown, 404, "BLOB_UNKNOWN"),
			{"HEAD unknown blob", req("HEAD", "/v2/good/repo/blobs/"+unknown, nil), 404, ""},
			{"DELETE malformed", req("DELETE", "/v2/good/repo/blobs/sha256:zz", nil), 400, "DIGEST_INVALID"},
			{"DELETE unknown", req("DELETE", "/v2/good/repo/blobs/"+unknown, nil), 404, "BLOB_UNKNOWN"},
			get("manifest by malformed digest", "/v2/good/repo/manifests/sha256:xyz", 400, "DIGEST_INVALID"),
			get("manifest by unknown digest", "/v2/good/repo/manifests/"+unknown, 404, "MANIFEST_UNKNOWN"),
			get("blob addressed as manifest", "/v2/good/repo/manifests/"+f.layer, 404, "MANIFEST_UNKNOWN"),
			{"POST malformed digest", req("POST", "/v2/good/repo/blobs/uploads/?digest=sha256:zz", []byte("x")), 400, "DIGEST_INVALID"},
			{"POST wrong digest", req("POST", "/v2/good/repo/blobs/uploads/?digest="+unknown, []byte("x")), 400, "DIGEST_INVALID"},
			{"PUT upload malformed digest", req("PUT", up+"?digest=sha256:1", nil), 400, "DIGEST_INVALID"},
			{"PUT upload wrong digest", req("PUT", up+"?digest="+unknown, []byte("abc")), 400, "DIGEST_INVALID"},
		},
		"references": {
			get("tag of 129 characters", "/v2/good/repo/manifests/"+strings.Repeat("t", 129), 404, "MANIFEST_UNKNOWN"),
			get("tag starting with a dot", "/v2/good/repo/manifests/.v1", 404, "MANIFEST_UNKNOWN"),
			get("tag starting with a dash", "/v2/good/repo/manifests/-v1", 404, "MANIFEST_UNKNOWN"),
			get("tag with unicode", "/v2/good/repo/manifests/v%C3%A9", 404, "MANIFEST_UNKNOWN"),
			get("tag with NUL", "/v2/good/repo/manifests/v1%00", 404, "MANIFEST_UNKNOWN"),
			get("unknown tag", "/v2/good/repo/manifests/nope", 404, "MANIFEST_UNKNOWN"),
			get("empty reference", "/v2/good/repo/manifests/", 404, "MANIFEST_UNKNOWN"),
			{"HEAD bad tag", req("HEAD", "/v2/good/repo/manifests/-x", nil), 404, ""},
			{"PUT tag of 129 characters", req("PUT", "/v2/good/repo/manifests/"+strings.Repeat("t", 129), f.manifest, ct...), 400, "MANIFEST_INVALID"},
			{"PUT tag with a dot first", req("PUT", "/v2/good/repo/manifests/.x", f.manifest, ct...), 400, "MANIFEST_INVALID"},
			{"PUT bad ?tag=", req("PUT", "/v2/good/repo/manifests/"+f.mdigest+"?tag=%2Fx", f.manifest, ct...), 400, "MANIFEST_INVALID"},
			{"PUT one bad ?tag= of two", req("PUT", "/v2/good/repo/manifests/"+f.mdigest+"?tag=ok&tag=..", f.manifest, ct...), 400, "MANIFEST_INVALID"},
			{"DELETE unknown tag", req("DELETE", "/v2/good/repo/manifests/nope", nil), 404, "MANIFEST_UNKNOWN"},
			{"DELETE bad tag", req("DELETE", "/v2/good/repo/manifests/-x", nil), 404, "MANIFEST_UNKNOWN"},
			{"DELETE unknown digest", req("DELETE", "/v2/good/repo/manifests/"+unknown, nil), 404, "MANIFEST_UNKNOWN"},
		},
		"manifests": {
			put("not JSON", "{", ct, 400, "MANIFEST_INVALID"),
			put("JSON array", "[]", ct, 400, "MANIFEST_INVALID"),
			put("JSON null", "null", ct, 400, "MANIFEST_INVALID"),
			put("JSON string", `"manifest"`, ct, 400, "MANIFEST_INVALID"),
			put("trailing garbage", m+"x", ct, 400, "MANIFEST_INVALID"),
			put("byte order mark", "\ufeff"+m, ct, 400, "MANIFEST_INVALID"),
			put("deep nesting", strings.Repeat("[", 100000)+strings.Repeat("]", 100000), ct, 400, "MANIFEST_INVALID"),
			put("huge number", strings.Replace(m, `"schemaVersion":2`, `"schemaVersion":1e999`, 1), ct, 400, "MANIFEST_INVALID"),
			put("schemaVersion 1", strings.Replace(m, `"schemaVersion":2`, `"schemaVersion":1`, 1), ct, 400, "MANIFEST_INVALID"),
			put("schemaVersion 3", strings.Replace(m, `"schemaVersion":2`, `"schemaVersion":3`, 1), ct, 400, "MANIFEST_INVALID"),
			put("docker schema1", `{"schemaVersion":1,"fsLayers":[]}`, []string{"Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"}, 400, "MANIFEST_INVALID"),
			put("no config", `{"schemaVersion":2,"mediaType":"`+ociManifest+`","layers":[]}`, ct, 400, "MANIFEST_INVALID"),
			put("config digest malformed", strings.Replace(m, `"sha256:`, `"sha256:zz`, 1), ct, 400, "MANIFEST_INVALID"),
			put("config unknown", strings.Replace(m, sha256Digest([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)), unknown, 1), ct, 400, "MANIFEST_BLOB_UNKNOWN"),
			put("layer unknown", strings.Replace(m, f.layer, unknown, 1), ct, 400, "MANIFEST_BLOB_UNKNOWN"),
			put("layer size wrong", strings.Replace(m, `"size":3000`, `"size":3001`, 1), ct, 400, "MANIFEST_INVALID"),
			put("layer size negative", strings.Replace(m, `"size":3000`, `"size":-1`, 1), ct, 400, "MANIFEST_INVALID"),
			put("descriptor without mediaType", strings.Replace(m, `"mediaType":"application/vnd.oci.image.layer.v1.tar",`, "", 1), ct, 400, "MANIFEST_INVALID"),
			put("unknown mediaType", withMT("text/plain"), []string{"Content-Type", "text/plain"}, 400, "MANIFEST_INVALID"),
			put("empty mediaType", withMT(""), []string{"Content-Type", ociManifest}, 400, "MANIFEST_INVALID"),
			put("Content-Type disagrees", m, []string{"Content-Type", ociIndex}, 400, "MANIFEST_INVALID"),
			put("Content-Type application/json", m, []string{"Content-Type", "application/json"}, 400, "MANIFEST_INVALID"),
			put("no Content-Type", m, nil, 400, "MANIFEST_INVALID"),
			put("malformed Content-Type", m, []string{"Content-Type", "application/vnd.oci.image.manifest.v1+json; =x"}, 400, "MANIFEST_INVALID"),
			put("index with a manifest's body", m, []string{"Content-Type", ociIndex}, 400, "MANIFEST_INVALID"),
			put("index child malformed", `{"schemaVersion":2,"mediaType":"`+ociIndex+`","manifests":[{"mediaType":"`+ociManifest+`","digest":"sha256:zz","size":1}]}`, []string{"Content-Type", ociIndex}, 400, "MANIFEST_INVALID"),
			put("subject malformed", strings.Replace(m, `"layers":`, `"subject":{"mediaType":"`+ociManifest+`","digest":"sha256:q","size":1},"layers":`, 1), ct, 400, "MANIFEST_INVALID"),
			{"over 4 MiB", req("PUT", "/v2/good/repo/manifests/x", bytes.Repeat([]byte(" "), 4<<20+1), ct...), 413, "SIZE_INVALID"},
			{"over 4 MiB chunked", "PUT /v2/good/repo/manifests/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: " + ociManifest + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strings.Repeat("100000\r\n"+strings.Repeat(" ", 1<<20)+"\r\n", 5) + "0\r\n\r\n", 413, "SIZE_INVALID"},
			{"digest reference disagrees", req("PUT", "/v2/good/repo/manifests/"+unknown, f.manifest, ct...), 400, "DIGEST_INVALID"},
			{"POST to a manifest", req("POST", "/v2/good/repo/manifests/v1", f.manifest, ct...), 405, "UNSUPPORTED"},
			{"PATCH to a manifest", req("PATCH", "/v2/good/repo/manifests/v1", f.manifest, ct...), 405, "UNSUPPORTED"},
		},
		"uploads": {
			{"PATCH unknown session", req("PATCH", "/v2/good/repo/blobs/uploads/0d3b0b7e-1c1d-4f5e-9a1b-2c3d4e5f6a7b", []byte("x")), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"PATCH session of another repository", req("PATCH", strings.Replace(up, "good/repo", "good/other", 1), []byte("x")), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"PATCH session id ..", req("PATCH", "/v2/good/repo/blobs/uploads/..", []byte("x")), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"PATCH session id junk", req("PATCH", "/v2/good/repo/blobs/uploads/%2e%2e%2f%2e%2e", []byte("x")), 404, ""},
			{"PATCH session id too long", req("PATCH", "/v2/good/repo/blobs/uploads/"+strings.Repeat("u", 5000), []byte("x")), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"GET unknown session", req("GET", "/v2/good/repo/blobs/uploads/nope", nil), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"DELETE unknown session", req("DELETE", "/v2/good/repo/blobs/uploads/nope", nil), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"PUT unknown session", req("PUT", "/v2/good/repo/blobs/uploads/nope?digest="+unknown, nil), 404, "BLOB_UPLOAD_UNKNOWN"},
			{"PUT without digest", req("PUT", up, nil), 400, "DIGEST_INVALID"},
			{"PUT with an empty digest", req("PUT", up+"?digest=", nil), 400, "DIGEST_INVALID"},
			{"PUT digest of nothing uploaded", req("PUT", up+"?digest="+f.layer, nil), 400, "DIGEST_INVALID"},
			{"PATCH out of order", req("PATCH", up, []byte("abc"), "Content-Range", "10-12"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range backwards", req("PATCH", up, []byte("abc"), "Content-Range", "5-1"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range text", req("PATCH", up, []byte("abc"), "Content-Range", "a-b"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range open end", req("PATCH", up, []byte("abc"), "Content-Range", "0-"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range suffix", req("PATCH", up, []byte("abc"), "Content-Range", "-3"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range overflow", req("PATCH", up, []byte("abc"), "Content-Range", "0-99999999999999999999"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range and length disagree", req("PATCH", up, []byte("abc"), "Content-Range", "0-9"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range negative", req("PATCH", up, []byte("abc"), "Content-Range", "-1-1"), 416, "BLOB_UPLOAD_INVALID"},
			{"PATCH range to MaxInt64, chunked", "PATCH " + up + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Range: 0-9223372036854775807\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 416, "BLOB_UPLOAD_INVALID"},
			{"PUT range out of order", req("PUT", up+"?digest="+f.layer, []byte("abc"), "Content-Range", "7-9"), 416, "BLOB_UPLOAD_INVALID"},
			{"POST digest, short body", req("POST", "/v2/good/repo/blobs/uploads/?digest="+f.layer, []byte("short")), 400, "DIGEST_INVALID"},
			{"POST to a session id", req("POST", up, nil), 405, "UNSUPPORTED"},
			{"PATCH without a session", req("PATCH", "/v2/good/repo/blobs/uploads/", []byte("x")), 405, "UNSUPPORTED"},
			{"mount malformed digest", req("POST", "/v2/good/repo/blobs/uploads/?mount=sha256:zz&from=good/repo", nil), 202, ""},
			{"mount from an invalid name", req("POST", "/v2/good/repo/blobs/uploads/?mount="+f.layer+"&from=..%2F..", nil), 202, ""},
			{"mount of an unknown blob", req("POST", "/v2/good/repo/blobs/uploads/?mount="+unknown+"&from=good/repo", nil), 202, ""},
		},
		"ranges": {
			get("backwards", blob, 416, "", "Range", "bytes=5-1"),
			get("past the end", blob, 416, "", "Range", "bytes=999999-"),
			get("garbage", blob, 416, "", "Range", "bytes=abc"),
			get("empty suffix", blob, 206, "", "Range", "bytes=-0"),
			get("suffix longer than the blob", blob, 206, "", "Range", "bytes=-999999"),
			get("first byte", blob, 206, "", "Range", "bytes=0-0"),
			get("other unit", blob, 200, "", "Range", "items=0-1"),
			get("two ranges", blob, 206, "", "Range", "bytes=0-1,5-6"),
			get("overlapping ranges", blob, 206, "", "Range", "bytes=0-10,5-15"),
			get("ten thousand ranges", blob, 200, "", "Range", "bytes="+strings.TrimSuffix(strings.Repeat("0-0,", 10000), ",")),
			get("end past int64", blob, 416, "", "Range", "bytes=0-99999999999999999999"),
			get("end past the blob", blob, 206, "", "Range", "bytes=0-99999"),
			get("If-Range mismatch", blob, 200, "", "Range", "bytes=0-1", "If-Range", `"sha256:nope"`),
		},
		"pagination": {
			get("n negative", "/v2/good/repo/tags/list?n=-1", 400, ""),
			get("n text", "/v2/good/repo/tags/list?n=ten", 400, ""),
			get("n exponent", "/v2/good/repo/tags/list?n=1e3", 400, ""),
			get("n overflow", "/v2/good/repo/tags/list?n=99999999999999999999", 400, ""),
			get("n 2^31", "/v2/good/repo/tags/list?n=2147483648", 200, ""),
			get("n zero", "/v2/good/repo/tags/list?n=0", 200, ""),
			get("last unknown", "/v2/good/repo/tags/list?last=zzz", 200, ""),
			get("last 10k characters", "/v2/good/repo/tags/list?last="+strings.Repeat("z", 10000), 200, ""),
			get("n twice", "/v2/good/repo/tags/list?n=1&n=x", 200, ""),
			get("catalog n negative", "/v2/_catalog?n=-5", 400, ""),
			get("catalog n huge", "/v2/_catalog?n=2147483648", 200, ""),
			get("catalog last garbage", "/v2/_catalog?last=%00%FF", 200, ""),
			{"catalog POST", req("POST", "/v2/_catalog", nil), 405, "UNSUPPORTED"},
			{"tags DELETE", req("DELETE", "/v2/good/repo/tags/list", nil), 405, "UNSUPPORTED"},
		},
		"referrers": {
			get("malformed digest", "/v2/good/repo/referrers/sha256:nope", 400, "DIGEST_INVALID"),
			get("uppercase digest", "/v2/good/repo/referrers/"+strings.ToUpper(f.mdigest), 400, "DIGEST_INVALID"),
			get("tag instead of digest", "/v2/good/repo/referrers/v1", 400, "DIGEST_INVALID"),
			get("unknown subject", "/v2/good/repo/referrers/"+unknown, 200, ""),
			get("unknown repository", "/v2/no/such/referrers/"+f.mdigest, 200, ""),
			get("artifactType 10k characters", "/v2/good/repo/referrers/"+f.mdigest+"?artifactType="+strings.Repeat("a", 10000), 200, ""),
			get("artifactType repeated", "/v2/good/repo/referrers/"+f.mdigest+"?artifactType=a&artifactType=b&artifactType=c", 200, ""),
			{"PUT", req("PUT", "/v2/good/repo/referrers/"+f.mdigest, []byte("{}")), 405, "UNSUPPORTED"},
			{"DELETE", req("DELETE", "/v2/good/repo/referrers/"+f.mdigest, nil), 405, "UNSUPPORTED"},
		},
		"headers": {
			{"Content-Length not a number", "PUT /v2/good/repo/manifests/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n", 400, ""},
			{"Content-Length negative", "PUT /v2/good/repo/manifests/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n", 400, ""},
			{"two Content-Lengths", "PUT /v2/good/repo/manifests/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 400, ""},
			// RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; net/http reads the (empty) chunked body.
			{"Content-Length and chunked", "PATCH " + up + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 202, ""},
			{"Transfer-Encoding gzip", "PATCH " + up + " HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501, ""},
			{"headers over 1 MiB", "GET /v2/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("b", 1<<20+4096) + "\r\n\r\n", 431, ""},
			{"no Host", "GET /v2/ HTTP/1.1\r\nConnection: close\r\n\r\n", 400, ""},
			{"two Hosts", "GET /v2/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, ""},
			{"NUL in a header", "GET /v2/ HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x00b\r\n\r\n", 400, ""},
			{"header without colon", "GET /v2/ HTTP/1.1\r\nHost: localhost\r\nNoColon\r\n\r\n", 400, ""},
			{"space before colon", "GET /v2/ HTTP/1.1\r\nHost: localhost\r\nX-Bad : 1\r\n\r\n", 400, ""},
			{"Expect unknown", req("PUT", "/v2/good/repo/manifests/x", f.manifest, "Content-Type", ociManifest, "Expect", "200-ok"), 417, ""},
			{"Authorization garbage", req("GET", "/v2/", nil, "Authorization", "Basic !!!"), 200, ""},
			{"Accept garbage", req("GET", "/v2/good/repo/manifests/v1", nil, "Accept", "*/*;q=x, ;;,"), 200, ""},
			{"chunk size garbage", "PATCH " + up + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "BLOB_UPLOAD_INVALID"},
		},
		"protocol": {
			{"HTTP/1.0", "GET /v2/ HTTP/1.0\r\n\r\n", 200, ""},
			{"HTTP/0.9", "GET /v2/\r\n\r\n", 400, ""},
			{"HTTP/3.0", "GET /v2/ HTTP/3.0\r\nHost: localhost\r\n\r\n", 505, ""},
			{"garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, ""},
			{"lower-case method", "get /v2/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 405, "UNSUPPORTED"},
			{"unknown method", req("BREW", "/v2/", nil), 405, "UNSUPPORTED"},
			{"OPTIONS", req("OPTIONS", "/v2/good/repo/manifests/v1", nil), 405, "UNSUPPORTED"},
			{"TRACE", req("TRACE", "/v2/", nil), 405, "UNSUPPORTED"},
			{"CONNECT", "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n", 404, ""},
			{"absolute target, foreign host", req("GET", "http://elsewhere/v2/", nil), 421, ""}, // the URL's host is the Host (RFC 9112 §3.2.2)
			{"target without a slash", "GET v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 400, ""},
			{"not under /v2", req("GET", "/v1/repositories", nil), 404, ""},
			{"root", req("GET", "/", nil), 404, ""},
			{"ping POST", req("POST", "/v2/", nil), 405, "UNSUPPORTED"},
			{"target with a fragment", req("GET", "/v2/#x", nil), 404, ""},
			{"HTTP/2 preface on HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 404, ""},
		},
	}
}

// TestHostile is the hostile-input tier: every request of hostileCases gets
// its exact status and OCI code from a real `stevedore serve`, changes
// nothing in the store, and leaves no panic and no 5xx of ours in the
// server's log (net/http's 501 for an unknown transfer coding, which RFC
// 9112 §6.1 asks for, never reaches the handler).
func TestHostile(t *testing.T) {
	s, err := startStevedore(t, "stevedore-serve-hostile", serveOptions{Args: []string{"--log-level", "debug"}})
	if err != nil {
		t.Fatal(err)
	}
	f := newHostileFixture(t, s)
	cats := hostileCases(f)
	names := make([]string, 0, len(cats))
	total := 0
	for c, cs := range cats {
		names = append(names, c)
		total += len(cs)
	}
	sort.Strings(names)
	for _, c := range names {
		t.Logf("hostile tier: %-10s %3d requests", c, len(cats[c]))
	}
	t.Logf("hostile tier: %d requests in %d categories", total, len(cats))
	if total < 150 {
		t.Errorf("only %d hostile requests, want at least 150", total)
	}
	before := storeSnapshot(t, s.Data)
	for _, c := range names {
		t.Run(c, func(t *testing.T) {
			for _, tc := range cats[c] {
				t.Run(tc.name, func(t *testing.T) {
					res, body, err := sendRaw(s.Registry, tc.raw)
					if err != nil {
						t.Fatalf("no answer: %v", err)
					}
					if got := ociCode(res, body); res.StatusCode != tc.status || got != tc.code {
						t.Errorf("%d %s, want %d %s: %.300s", res.StatusCode, got, tc.status, tc.code, body)
					}
					if after := storeSnapshot(t, s.Data); len(before) != len(after) || diffSnapshots(before, after) != "" {
						t.Fatalf("the store changed: %s", diffSnapshots(before, after))
					}
				})
			}
		})
	}
	// The fixture still reads back whole.
	res, body, err := sendRaw(s.Registry, req("GET", "/v2/good/repo/manifests/v1", nil, "Accept", ociManifest))
	if err != nil || res.StatusCode != http.StatusOK || !bytes.Equal(body, f.manifest) {
		t.Fatalf("the image after the tier: %v %v", res, err)
	}
	checkServerLog(t, s.proc.log)
}

// checkServerLog fails on a panic or a 5xx answer in a server's log, but
// for the statuses allowed (a 503 shedding load, a 507 on a full disk).
func checkServerLog(t *testing.T, path string, allowed ...int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(strings.ToLower(line), "panic") {
			t.Errorf("server log: %s", line)
		}
		var e struct {
			Msg    string `json:"msg"`
			Status int    `json:"status"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Status >= 500 && !slices.Contains(allowed, e.Status) {
			t.Errorf("server log: a %d: %s", e.Status, line)
		}
	}
}
