package integration

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// TestServeSafeDefaults: a default `stevedore serve` refuses what a hostile
// caller or web page tries first, clearly, and writes nothing: a cross-site
// POST, a foreign Host header, paths outside DATA/layouts (whether they exist
// or not), link-local and metadata addresses, and a DNS name that resolves
// to a loopback address. The server runs in a mount namespace of its own
// whose /etc/hosts maps rebind.test to 127.0.0.2, where a listener would
// notice any connection.
func TestServeSafeDefaults(t *testing.T) {
	for _, tool := range []string{"unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to give the server its own /etc/hosts: %v", tool, err)
		}
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n127.0.0.2 rebind.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A listener on 127.0.0.2: the guard must keep the server off it.
	trap, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	hits := make(chan struct{}, 16)
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			hits <- struct{}{}
			c.Close()
		}
	}()
	s, err := startStevedore(t, "stevedore-defaults", serveOptions{
		Default: true,
		Prefix:  []string{"unshare", "-m", "--propagation", "private", "sh", "-c", `mount --bind "` + hosts + `" /etc/hosts && exec "$0" "$@"`},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := stevedorev1.NewImageServiceClient(s.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	outside := t.TempDir() // a real directory outside DATA/layouts
	_, trapPort, _ := net.SplitHostPort(trap.Addr().String())

	t.Run("paths outside the allowed root", func(t *testing.T) {
		for _, ref := range []string{"oci:/etc:x", "oci:/nonexistent-" + trapPort + ":x", "oci:" + outside + ":x", "oci-archive:/etc/passwd",
			"oci:" + filepath.Join(s.Data, "repos") + ":x", "oci:../../../../etc:x"} {
			_, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: ref})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("Inspect %s: %v, want PermissionDenied", ref, err)
			}
			if strings.Contains(status.Convert(err).Message(), "no such file") || strings.Contains(status.Convert(err).Message(), "not found") {
				t.Errorf("Inspect %s: the refusal tells whether the path exists: %v", ref, err)
			}
		}
		dst := filepath.Join(outside, "written")
		cs, err := c.Copy(ctx, &stevedorev1.CopyRequest{Source: "oci:/etc:x", Destination: "oci:" + dst + ":x"})
		for err == nil {
			_, err = cs.Recv()
		}
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("Copy to %s: %v", dst, err)
		}
		if _, err := os.Stat(dst); err == nil {
			t.Errorf("%s was written", dst)
		}
	})
	t.Run("addresses the server never reaches", func(t *testing.T) {
		for _, ref := range []string{"169.254.169.254/latest/meta-data:x", "[fe80::1]:5000/x:y", "10.0.0.1:5000/x:y", "127.0.0.1:" + trapPort + "/x:y",
			"127.0.0.2:" + trapPort + "/x:y", "rebind.test:" + trapPort + "/x:y", "localhost:" + trapPort + "/x:y"} {
			_, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: ref})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("Inspect %s: %v, want PermissionDenied", ref, err)
			}
		}
		select {
		case <-hits:
			t.Error("the server connected to 127.0.0.2")
		default:
		}
	})
	t.Run("browsers", func(t *testing.T) {
		body := `{"source":"docker.io/library/alpine:3.20","destination":"oci:evil:x"}`
		for _, c := range []struct {
			name, host, origin, ctype string
			want                      int
		}{
			{"cross-site form POST", s.HTTP, "http://evil.example", "text/plain", http.StatusForbidden},
			{"text/plain POST", s.HTTP, "", "text/plain", http.StatusUnsupportedMediaType},
			{"urlencoded form POST", s.HTTP, "", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
			{"cross-site JSON", s.HTTP, "http://evil.example", "application/json", http.StatusForbidden},
			{"foreign Host", "attacker.example:" + portOf(s.HTTP), "", "application/json", http.StatusMisdirectedRequest},
		} {
			req, _ := http.NewRequest(http.MethodPost, "http://"+s.HTTP+"/v1/copy", strings.NewReader(body))
			req.Host = c.host
			req.Header.Set("Content-Type", c.ctype)
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s: %s, want %d", c.name, resp.Status, c.want)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.Registry+"/v2/", nil)
		req.Host = "attacker.example:" + portOf(s.Registry)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("OCI port with a foreign Host: %s", resp.Status)
		}
		if _, err := os.Stat(filepath.Join(s.Data, "layouts", "evil")); err == nil {
			t.Error("a refused request wrote DATA/layouts/evil")
		}
	})
	t.Run("the served store and DATA/layouts work", func(t *testing.T) {
		cs, err := c.Copy(ctx, &stevedorev1.CopyRequest{Source: "store:none/x:y", Destination: "oci:mine:x"})
		for err == nil {
			_, err = cs.Recv()
		}
		if status.Code(err) != codes.NotFound {
			t.Errorf("Copy from an empty store into DATA/layouts: %v, want NotFound (allowed, nothing there)", err)
		}
	})
}
