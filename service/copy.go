package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/sign"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// maxCopyConcurrency bounds CopyRequest.concurrency: one caller must not be
// able to open hundreds of connections from the server.
const maxCopyConcurrency = 64

// minChunkSize bounds CopyRequest.chunk_size from below: tiny chunks would
// turn one upload into thousands of requests against the registry.
const minChunkSize = 1 << 20

// eventKinds maps the engine's progress kinds to their wire form.
var eventKinds = map[imgcopy.Kind]stevedorev1.CopyEventKind{
	imgcopy.KindBlobStarted:  stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_STARTED,
	imgcopy.KindBlobBytes:    stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_BYTES,
	imgcopy.KindBlobSkipped:  stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_SKIPPED,
	imgcopy.KindBlobDone:     stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_DONE,
	imgcopy.KindImageSkipped: stevedorev1.CopyEventKind_COPY_EVENT_KIND_IMAGE_SKIPPED,
	imgcopy.KindImageDone:    stevedorev1.CopyEventKind_COPY_EVENT_KIND_IMAGE_DONE,
	imgcopy.KindBlobMounted:  stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_MOUNTED,
}

// Copy runs the copy req describes, streaming each progress event as it
// happens and a RESULT event at the end. A slow reader slows the copy rather
// than piling events up in memory: the engine delivers events one at a time
// and waits for each Send.
func (s *ImageServer) Copy(req *stevedorev1.CopyRequest, stream stevedorev1.ImageService_CopyServer) error {
	src, err := parseField("source", req.GetSource(), false)
	if err != nil {
		return err
	}
	dst, err := parseField("destination", req.GetDestination(), false)
	if err != nil {
		return err
	}
	if c := req.GetConcurrency(); c < 0 || c > maxCopyConcurrency {
		return newStatus(codes.InvalidArgument, "", "concurrency must be between 0 (the default, 4) and 64")
	}
	if c := req.GetChunkSize(); c < 0 || (c > 0 && c < minChunkSize) {
		return newStatus(codes.InvalidArgument, "", "chunk_size must be 0 (the default: one streaming request per blob) or at least 1 MiB")
	}
	var sendErr error
	opts := engine.CopyOptions{
		Options: imgcopy.Options{
			Platform:    req.GetPlatform(),
			Platforms:   req.GetPlatforms(),
			Sparse:      req.GetSparse(),
			Referrers:   req.GetReferrers(),
			ChunkSize:   req.GetChunkSize(),
			Concurrency: int(req.GetConcurrency()),
			Progress: func(e imgcopy.Event) {
				// After a failed Send the client is gone and the stream's
				// context, which the copy runs under, is cancelled.
				if sendErr == nil {
					sendErr = stream.Send(eventResponse(e))
				}
			},
		},
		Format:   req.GetFormat(),
		Compress: req.GetCompress(),
	}
	if opts.Policy, err = s.requestPolicy(req.GetVerifyPolicy(), req.GetPolicyKeys()); err != nil {
		return err
	}
	if opts.Sign, err = s.copySign(stream.Context(), req); err != nil {
		return err
	}
	res, err := s.engine(stream.Context()).Copy(stream.Context(), src, dst, opts)
	if err != nil {
		return copyStatus(err)
	}
	if sendErr != nil {
		return sendErr
	}
	var signatures []string
	for _, sg := range res.Signatures {
		signatures = append(signatures, sg.Signature.Digest.String())
	}
	return stream.Send(&stevedorev1.CopyResponse{
		Kind: stevedorev1.CopyEventKind_COPY_EVENT_KIND_RESULT,
		Result: &stevedorev1.CopyResult{
			Source:           src.String(),
			Destination:      dst.String(),
			Digest:           res.Digest.String(),
			MediaType:        res.MediaType,
			Size:             res.Size,
			BlobsCopied:      int32(res.BlobsCopied),
			BlobsSkipped:     int32(res.BlobsSkipped),
			ManifestsCopied:  int32(res.ManifestsCopied),
			ManifestsSkipped: int32(res.ManifestsSkipped),
			Bytes:            res.Bytes,
			SourceDigest:     res.SourceDigest.String(),
			BlobsMounted:     int32(res.BlobsMounted),
			Referrers:        int32(res.Referrers),
			Signatures:       signatures,
		},
	})
}

// eventResponse converts a progress event to its wire form.
func eventResponse(e imgcopy.Event) *stevedorev1.CopyResponse {
	d := descriptor(e.Desc)
	if e.Desc.Platform != nil {
		d.Platform = platform(e.Desc.Platform)
	}
	return &stevedorev1.CopyResponse{Kind: eventKinds[e.Kind], Descriptor_: d, Bytes: e.Bytes}
}

// copyStatus converts a copy failure to a status. A failure on one side of
// the copy names the content (a blob or a manifest, which decides the OCI
// code) and carries that side as ErrorInfo metadata "origin"; anything else
// was refused before any I/O, on the caller's references or options.
func copyStatus(err error) error {
	var cerr *imgcopy.Error
	if !errors.As(err, &cerr) {
		return toStatus(err, subjectRepository)
	}
	subj := subjectManifest
	if cerr.Desc.Digest != "" && !oci.IsManifest(cerr.Desc.MediaType) {
		subj = subjectBlob
	}
	st := status.Convert(toStatus(err, subj))
	info := &errdetails.ErrorInfo{Domain: ErrorDomain}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	info.Metadata = map[string]string{"origin": cerr.Origin}
	withInfo, derr := status.New(st.Code(), st.Message()).WithDetails(info)
	if derr != nil {
		return st.Err()
	}
	return withInfo.Err()
}

// WithSigning lends Copy and Mirror sg's key directory: trust policies may
// name its public keys by id, and a copy can be signed with one of its
// private keys (decrypted under sg's bound). Without it, only inline
// policy keys work and sign_with_key_id is FAILED_PRECONDITION.
func (s *ImageServer) WithSigning(sg *SignServer) *ImageServer {
	s.signing = sg
	return s
}

// maxPolicy bounds a request's trust policy, as policy files are bounded.
const maxPolicy = 1 << 20

// policyKeyRE is what a policy's key name must look like in a request: a
// plain file name, never a path, so a policy cannot make the server read
// its own files.
var policyKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// requestPolicy parses a request's trust policy (nil when text is empty).
// Each name its rules list under `keys` is looked up in inline (PEM public
// keys) and then, with any ".pub" dropped, in the server's key directory.
// policy.Parse reads keys from files, so the resolved keys are written to
// a temporary directory for the parse and removed after it.
func (s *ImageServer) requestPolicy(text string, inline map[string]string) (*policy.Policy, error) {
	if text == "" {
		if len(inline) > 0 {
			return nil, newStatus(codes.InvalidArgument, "", "policy_keys without verify_policy")
		}
		return nil, nil
	}
	if len(text) > maxPolicy {
		return nil, newStatus(codes.InvalidArgument, "", "verify_policy is larger than 1 MiB")
	}
	var names struct {
		Repositories []struct {
			Keys             []string `yaml:"keys"`
			TrustedRoot      string   `yaml:"trustedRoot"`
			CertificateChain string   `yaml:"certificateChain"`
		} `yaml:"repositories"`
	}
	if err := yaml.Unmarshal([]byte(text), &names); err != nil {
		return nil, newStatus(codes.InvalidArgument, "", "verify_policy: "+err.Error())
	}
	for _, r := range names.Repositories {
		if r.TrustedRoot != "" || r.CertificateChain != "" {
			return nil, newStatus(codes.InvalidArgument, "", "verify_policy: trustedRoot and certificateChain name server files and are not accepted in a request; identities are checked against Sigstore's public-good root")
		}
	}
	dir, err := os.MkdirTemp("", "stevedore-policy-")
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	defer os.RemoveAll(dir)
	done := map[string]bool{}
	for _, r := range names.Repositories {
		for _, name := range r.Keys {
			if done[name] {
				continue
			}
			done[name] = true
			if !policyKeyRE.MatchString(name) {
				return nil, newStatus(codes.InvalidArgument, "", fmt.Sprintf("verify_policy: key %q: name a key of policy_keys or a server key id, not a path", name))
			}
			pem, err := s.policyKey(name, inline)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, name), pem, 0o600); err != nil {
				return nil, toStatus(err, subjectRepository)
			}
		}
	}
	pol, err := policy.Parse([]byte(text), dir, PolicyVerifiers)
	if err != nil {
		return nil, newStatus(codes.InvalidArgument, "", err.Error())
	}
	return pol, nil
}

// policyKey returns the PEM public key a policy names.
func (s *ImageServer) policyKey(name string, inline map[string]string) ([]byte, error) {
	if p, ok := inline[name]; ok {
		if _, err := sign.ParsePublicKey([]byte(p)); err != nil {
			return nil, newStatus(codes.InvalidArgument, "", fmt.Sprintf("policy_keys[%q]: %v", name, err))
		}
		return []byte(p), nil
	}
	if s.signing == nil {
		return nil, newStatus(codes.InvalidArgument, "", fmt.Sprintf("verify_policy: key %q is not in policy_keys (and this server has no key directory)", name))
	}
	pem, err := s.signing.keys.read(strings.TrimSuffix(name, ".pub"), ".pub")
	if err != nil {
		return nil, keyStatus(err)
	}
	return pem, nil
}

// copySign turns a copy's sign_with_key_id into how the engine signs the
// copy; the key is decrypted now, so a wrong password costs no transfer
// (the engine checks the destination can hold signatures before copying).
func (s *ImageServer) copySign(ctx context.Context, req *stevedorev1.CopyRequest) (*engine.CopySign, error) {
	id := req.GetSignWithKeyId()
	if id == "" {
		if req.GetSignPassword() != "" || req.GetSignFormat() != "" {
			return nil, newStatus(codes.InvalidArgument, "", "sign_password and sign_format need sign_with_key_id")
		}
		return nil, nil
	}
	if s.signing == nil {
		return nil, newStatus(codes.FailedPrecondition, "", "this server has no key directory to sign with")
	}
	format, err := sign.ParseFormat(cmp.Or(req.GetSignFormat(), string(sign.FormatBundle)), false)
	if err != nil {
		return nil, newStatus(codes.InvalidArgument, "", "sign_format: "+err.Error())
	}
	signer, err := s.signing.signer(ctx, id, req.GetSignPassword())
	if err != nil {
		return nil, err
	}
	return &engine.CopySign{Signer: signer, Format: format}, nil
}
