package stevedoreclient

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// MaxMessageSize is the receive limit Dial sets: a manifest may reach the
// server's 4 MiB bound, which with framing overflows gRPC's 4 MiB default.
// It equals service.MaxMessageSize.
const MaxMessageSize = 8 << 20

// Client calls a stevedore server's ImageService and SignService. It is safe
// for concurrent use.
type Client struct {
	conn *grpc.ClientConn
	// Images is the generated stub, for calls this package does not wrap.
	// Its errors are raw gRPC statuses; FromStatus converts them.
	Images stevedorev1.ImageServiceClient
	// Signing is the generated SignService stub, likewise.
	Signing stevedorev1.SignServiceClient
}

// Dial returns a Client for the server at target (host:port, or any gRPC
// target such as dns:///host:port). Connections are plaintext unless opts
// say otherwise (grpc.WithTransportCredentials); opts come after the
// defaults, so they override them. No connection is made until the first call.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), withBlobCodec()),
		// Blobs stream at the speed of the wire only when the receive
		// windows hold several 1 MiB chunks and reads and writes move
		// many 16 KiB frames at a time (gRPC's defaults: 64 KiB windows
		// grown by estimate, 32 KiB buffers).
		grpc.WithInitialWindowSize(8 << 20),
		grpc.WithInitialConnWindowSize(16 << 20),
		grpc.WithReadBufferSize(1 << 20),
		grpc.WithWriteBufferSize(1 << 20),
	}, opts...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, Images: stevedorev1.NewImageServiceClient(conn), Signing: stevedorev1.NewSignServiceClient(conn)}, nil
}

// Close releases the connection; streams still open fail.
func (c *Client) Close() error { return c.conn.Close() }

// Inspect describes the image ref names (`HOST/REPO:TAG`, `docker://...`,
// `oci:/DIR:TAG`). platform (`os/arch[/variant]`) picks an entry of an index;
// empty means linux on the server's architecture.
func (c *Client) Inspect(ctx context.Context, ref, platform string) (*stevedorev1.InspectResponse, error) {
	resp, err := c.Images.Inspect(ctx, &stevedorev1.InspectRequest{Ref: ref, Platform: platform})
	return resp, FromStatus(err)
}

// GetManifest returns the manifest or index ref names, byte for byte as
// stored; the server has verified it against its digest.
func (c *Client) GetManifest(ctx context.Context, ref string) (*stevedorev1.GetManifestResponse, error) {
	resp, err := c.Images.GetManifest(ctx, &stevedorev1.GetManifestRequest{Ref: ref})
	return resp, FromStatus(err)
}

// ListTags lists the tags of a repository or OCI layout.
func (c *Client) ListTags(ctx context.Context, repository string) ([]string, error) {
	resp, err := c.Images.ListTags(ctx, &stevedorev1.ListTagsRequest{Repository: repository})
	if err != nil {
		return nil, FromStatus(err)
	}
	return resp.GetTags(), nil
}

// unary calls a generated unary method and converts its error, so every
// wrapper is one line.
func unary[Req, Resp any](ctx context.Context, call func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	resp, err := call(ctx, req)
	return resp, FromStatus(err)
}
