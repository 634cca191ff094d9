package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"google.golang.org/grpc/codes"
)

// restView calls a served stevedore's REST gateway with net/http and decodes
// the proto3 JSON mapping (https://protobuf.dev/programming-guides/json/):
// lowerCamelCase names, int64 as strings, bytes as base64.
type restView struct {
	base string // http://HOST:PORT
}

func newRESTView(s *stevedoreServer) restView { return restView{base: "http://" + s.HTTP} }

func (restView) Name() string { return "rest" }

type restDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size,string"`
	ArtifactType string            `json:"artifactType"`
	Annotations  map[string]string `json:"annotations"`
}

type restInspect struct {
	Ref            string            `json:"ref"`
	Digest         string            `json:"digest"`
	MediaType      string            `json:"mediaType"`
	Platforms      []platform        `json:"platforms"`
	ManifestDigest string            `json:"manifestDigest"`
	ArtifactType   string            `json:"artifactType"`
	Annotations    map[string]string `json:"annotations"`
	Config         *struct {
		OS           string            `json:"os"`
		Architecture string            `json:"architecture"`
		Variant      string            `json:"variant"`
		Env          []string          `json:"env"`
		Entrypoint   []string          `json:"entrypoint"`
		Cmd          []string          `json:"cmd"`
		Labels       map[string]string `json:"labels"`
	} `json:"config"`
	Layers []restDescriptor `json:"layers"`
}

func (v restView) Inspect(ref, plat string) (inspectOutput, error) {
	q := url.Values{"ref": {ref}}
	if plat != "" {
		q.Set("platform", plat)
	}
	var r restInspect
	if err := v.getJSON("/v1/images:inspect", q, &r); err != nil {
		return inspectOutput{}, err
	}
	return r.output(), nil
}

// output converts the REST (and CLI: they print the same JSON) inspect
// body for comparison with the other views.
func (r restInspect) output() inspectOutput {
	out := inspectOutput{
		Ref: r.Ref, Digest: r.Digest, MediaType: r.MediaType, Platforms: r.Platforms, ManifestDigest: r.ManifestDigest,
		ArtifactType: r.ArtifactType, Annotations: emptyToNil(r.Annotations),
	}
	if c := r.Config; c != nil {
		out.Config = &imageConfig{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}
		out.Config.Config.Env, out.Config.Config.Entrypoint, out.Config.Config.Cmd, out.Config.Config.Labels = c.Env, c.Entrypoint, c.Cmd, emptyToNil(c.Labels)
	}
	for _, l := range r.Layers {
		out.Layers = append(out.Layers, descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size, ArtifactType: l.ArtifactType, Annotations: emptyToNil(l.Annotations)})
	}
	return out
}

func (v restView) Manifest(ref string) ([]byte, error) {
	var r struct {
		Digest    string `json:"digest"`
		MediaType string `json:"mediaType"`
		Raw       []byte `json:"raw"` // encoding/json decodes base64 into []byte
	}
	if err := v.getJSON("/v1/manifests", url.Values{"ref": {ref}}, &r); err != nil {
		return nil, err
	}
	if d := sha256Digest(r.Raw); d != r.Digest {
		return nil, fmt.Errorf("rest: GetManifest says digest %s, raw bytes hash to %s", r.Digest, d)
	}
	return r.Raw, nil
}

// Blob reads the gateway's server-streaming encoding: one JSON object per
// line, {"result": chunk} or, when the stream fails, {"error": status}.
func (v restView) Blob(ref string, w io.Writer) error {
	resp, err := v.get("/v1/blobs", url.Values{"ref": {ref}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return restErr(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20) // a 1 MiB chunk is ~1.4 MiB of base64
	var next int64
	for sc.Scan() {
		var line struct {
			Result *struct {
				Offset int64  `json:"offset,string"`
				Data   []byte `json:"data"`
			} `json:"result"`
			Error *restStatus `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("rest: GetBlob line is not JSON: %v", err)
		}
		switch {
		case line.Error != nil:
			return &callError{View: "rest", Code: codes.Code(line.Error.Code), Msg: line.Error.Message}
		case line.Result == nil:
			return fmt.Errorf("rest: GetBlob line has neither result nor error: %s", sc.Bytes())
		case line.Result.Offset != next:
			return fmt.Errorf("rest: GetBlob chunk at offset %d, want %d", line.Result.Offset, next)
		}
		if _, err := w.Write(line.Result.Data); err != nil {
			return err
		}
		next += int64(len(line.Result.Data))
	}
	return sc.Err()
}

func (v restView) Tags(repo string) ([]string, error) {
	var r struct {
		Tags []string `json:"tags"`
	}
	if err := v.getJSON("/v1/tags", url.Values{"repository": {repo}}, &r); err != nil {
		return nil, err
	}
	return r.Tags, nil
}

func (v restView) get(path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, v.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

func (v restView) getJSON(path string, q url.Values, into any) error {
	resp, err := v.get(path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return restErr(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("rest: GET %s: decoding: %v", path, err)
	}
	return nil
}

// restStatus is the gateway's error body, a google.rpc.Status.
type restStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// restErr turns an error response into a callError, after checking the HTTP
// status is the one the code calls for.
func restErr(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	// Unary errors are a bare google.rpc.Status; a stream that fails before
	// its first message wraps it as {"error": status}.
	var body struct {
		restStatus
		Error *restStatus `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return fmt.Errorf("rest: %s with a body that is not a status: %s", resp.Status, b)
	}
	st := body.restStatus
	if body.Error != nil {
		st = *body.Error
	}
	code := codes.Code(st.Code)
	if want, ok := httpStatusFor[code]; !ok || want != resp.StatusCode {
		return fmt.Errorf("rest: HTTP %d for %v, want %d: %s", resp.StatusCode, code, want, b)
	}
	return &callError{View: "rest", Code: code, Msg: st.Message}
}

// httpStatusFor is the gRPC code to HTTP status mapping of google.rpc.Code
// (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto),
// written out here so the test does not borrow the gateway's table.
var httpStatusFor = map[codes.Code]int{
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.Aborted:            http.StatusConflict,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.DataLoss:           http.StatusInternalServerError,
	codes.Internal:           http.StatusInternalServerError,
	codes.Unknown:            http.StatusInternalServerError,
}

// emptyToNil makes proto3 JSON's always-present empty maps compare equal to
// absent ones.
func emptyToNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
