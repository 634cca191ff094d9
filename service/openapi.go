package service

import (
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"sync"

	"github.com/stevedore-dev/stevedore/service/version"
)

// generatedDoc is the OpenAPI v2 description of the REST gateway, generated
// by protoc-gen-openapiv2 into openapi/ (see buf.gen.yaml). It lives under
// service/ rather than gen/ because go:embed cannot reach outside this
// package's directory, and gen/ holds generated files only.
//
//go:embed openapi/stevedore.swagger.json
var generatedDoc []byte

// uploadsDoc describes the multipart routes of the client-streaming RPCs
// (uploads_rest.go), which have no google.api.http rule to generate from.
//
//go:embed openapi_uploads.json
var uploadsDoc []byte

// openAPIDoc is the document /openapi.json serves: the generated one with
// uploadsDoc's paths and definitions merged in, and info.version set to the
// running build's version (`stevedore version`): the generator knows no
// version, and the generated file must not change from build to build.
var openAPIDoc = sync.OnceValue(func() []byte {
	var doc, extra map[string]json.RawMessage
	if json.Unmarshal(generatedDoc, &doc) != nil || json.Unmarshal(uploadsDoc, &extra) != nil {
		panic("service: embedded OpenAPI documents are not JSON") // caught by the tests, never by users
	}
	for _, k := range []string{"paths", "definitions"} {
		var into, add map[string]json.RawMessage
		_ = json.Unmarshal(doc[k], &into)
		_ = json.Unmarshal(extra[k], &add)
		maps.Copy(into, add)
		doc[k], _ = json.Marshal(into)
	}
	b, _ := json.Marshal(doc)
	return withInfoVersion(b, version.Get().Version)
})

// serveOpenAPI answers GET /openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc())
}

// withInfoVersion returns doc with its info.version replaced by v
// (OpenAPI v2 "Info Object": https://spec.openapis.org/oas/v2.0.html#info-object).
func withInfoVersion(doc []byte, v string) []byte {
	var top map[string]json.RawMessage
	var info map[string]json.RawMessage
	if json.Unmarshal(doc, &top) != nil || json.Unmarshal(top["info"], &info) != nil {
		return doc // the embedded file is generated JSON; a test checks this path is not taken
	}
	info["version"], _ = json.Marshal(v)
	top["info"], _ = json.Marshal(info)
	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		return doc
	}
	return append(out, '\n')
}
