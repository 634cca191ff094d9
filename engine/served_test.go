package engine_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// rules is an Access: repository prefix → actions.
type rules map[string][]engine.Action

func (r rules) Allowed(repo string, a engine.Action) error {
	for prefix, acts := range r {
		if strings.HasPrefix(repo, prefix) {
			for _, x := range acts {
				if x == a {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("not for you: %w", errdef.ErrDenied)
}

// newServed returns an engine serving a fresh data directory as
// 127.0.0.1:5000, and a layout holding one image tagged v1.
func newServed(t *testing.T, opts engine.Options) (*engine.Engine, string) {
	t.Helper()
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts.Served, opts.ServedHosts = root.Backend(), []string{"127.0.0.1:5000"}
	src := filepath.Join(t.TempDir(), "src")
	seedImage(t, src)
	return engine.New(opts), "oci:" + src + ":v1"
}

// TestServedStore: store: refs and refs naming the served registry reach the
// same repositories, directly, and blobs come back as stored.
func TestServedStore(t *testing.T) {
	ctx := context.Background()
	e, src := newServed(t, engine.Options{})
	res, err := e.Copy(ctx, ref(t, src), ref(t, "store:team/app:v1"), engine.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"store:team/app:v1", "127.0.0.1:5000/team/app:v1", "docker://127.0.0.1:5000/team/app@" + res.Digest.String()} {
		m, err := e.GetManifest(ctx, ref(t, r))
		if err != nil || m.Digest != res.Digest {
			t.Errorf("GetManifest %s: %v, %v; want %s", r, m, err, res.Digest)
		}
	}
	m, _ := e.GetManifest(ctx, ref(t, "store:team/app:v1"))
	layer := m.Layers[0]
	for _, verify := range []bool{false, true} {
		rc, desc, err := e.GetBlob(ctx, ref(t, "store:team/app@"+layer.Digest.String()), engine.BlobOptions{Verify: verify})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != "layer" || desc.Size != 5 {
			t.Errorf("GetBlob (verify %v) = %q, %v, %+v", verify, b, err, desc)
		}
	}
	tags, err := e.ListTags(ctx, ref(t, "store:team/app"))
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Errorf("ListTags = %v, %v", tags, err)
	}
	if _, err := e.GetManifest(ctx, ref(t, "store:team/none:v1")); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("unknown repository: %v", err)
	}
	// Without a served store, store: refs are refused, clearly.
	if _, err := engine.New(engine.Options{}).GetManifest(ctx, ref(t, "store:team/app:v1")); !errors.Is(err, errdef.ErrUnsupported) {
		t.Errorf("store: ref without a store: %v", err)
	}
}

// TestServedAccess: an engine acting for a caller gets exactly the caller's
// rights on the served store, whichever way a ref names it.
func TestServedAccess(t *testing.T) {
	ctx := context.Background()
	e, src := newServed(t, engine.Options{})
	for _, repo := range []string{"alice/app", "bob/secret", "public/base"} {
		if _, err := e.Copy(ctx, ref(t, src), ref(t, "store:"+repo+":v1"), engine.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	alice := e.As(rules{"alice/": {engine.ActionPull, engine.ActionPush, engine.ActionDelete}, "public/": {engine.ActionPull}})
	for _, c := range []struct {
		name string
		do   func() error
		ok   bool
	}{
		{"read own", func() error { _, err := alice.GetManifest(ctx, ref(t, "store:alice/app:v1")); return err }, true},
		{"read public", func() error { _, err := alice.GetManifest(ctx, ref(t, "127.0.0.1:5000/public/base:v1")); return err }, true},
		{"read other", func() error { _, err := alice.GetManifest(ctx, ref(t, "store:bob/secret:v1")); return err }, false},
		{"read other by address", func() error { _, err := alice.GetManifest(ctx, ref(t, "127.0.0.1:5000/bob/secret:v1")); return err }, false},
		{"copy other out", func() error {
			_, err := alice.Copy(ctx, ref(t, "store:bob/secret:v1"), ref(t, "store:alice/stolen:v1"), engine.CopyOptions{})
			return err
		}, false},
		{"write public", func() error {
			_, err := alice.Copy(ctx, ref(t, src), ref(t, "store:public/base:v2"), engine.CopyOptions{})
			return err
		}, false},
		{"write own", func() error {
			_, err := alice.Copy(ctx, ref(t, src), ref(t, "store:alice/app:v2"), engine.CopyOptions{})
			return err
		}, true},
		{"delete public", func() error {
			_, err := alice.Delete(ctx, ref(t, "store:public/base:v1"), engine.DeleteOptions{})
			return err
		}, false},
		{"delete own", func() error {
			_, err := alice.Delete(ctx, ref(t, "store:alice/app:v2"), engine.DeleteOptions{TagOnly: true})
			return err
		}, true},
		// Untag is a delete: the delete right, not the push right.
		{"untag public", func() error { _, err := alice.Untag(ctx, ref(t, "store:public/base:v1")); return err }, false},
		{"tag public", func() error { _, err := alice.Tag(ctx, ref(t, "store:public/base:v1"), []string{"mine"}); return err }, false},
		{"tag own", func() error { _, err := alice.Tag(ctx, ref(t, "store:alice/app:v1"), []string{"v1.0"}); return err }, true},
		{"untag own", func() error { _, err := alice.Untag(ctx, ref(t, "store:alice/app:v1.0")); return err }, true},
		// Signing writes beside the image: pull and push.
		{"sign public", func() error {
			_, err := alice.Sign(ctx, ref(t, "store:public/base:v1"), key, sign.SignOptions{})
			return err
		}, false},
		{"sign own", func() error {
			_, err := alice.Sign(ctx, ref(t, "store:alice/app:v1"), key, sign.SignOptions{})
			return err
		}, true},
	} {
		err := c.do()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, errdef.ErrDenied)) {
			t.Errorf("%s: %v, want allowed=%v", c.name, err, c.ok)
		}
	}
	page, err := alice.ListRepositories(ctx, engine.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range page.Repositories {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "alice/app,public/base" {
		t.Errorf("alice lists %v", names)
	}
	if _, err := alice.RunGC(ctx, served.GCOptions{DryRun: true}); !errors.Is(err, errdef.ErrDenied) {
		t.Errorf("RunGC without the delete right everywhere: %v", err)
	}
}

// TestServedManagement: listing pages, usage with shared blobs, deleting a
// repository, collecting what it left.
func TestServedManagement(t *testing.T) {
	ctx := context.Background()
	e, src := newServed(t, engine.Options{})
	for i := range 5 {
		if _, err := e.Copy(ctx, ref(t, src), ref(t, fmt.Sprintf("store:r%d/app:v1", i)), engine.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		page, err := e.ListRepositories(ctx, engine.ListOptions{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Repositories {
			got = append(got, r.Name)
			if r.TagCount != 1 || r.StoredBytes == 0 {
				t.Errorf("%+v", r)
			}
		}
		if token = page.NextPageToken; token == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if strings.Join(got, ",") != "r0/app,r1/app,r2/app,r3/app,r4/app" {
		t.Errorf("pages give %v", got)
	}
	if p, _ := e.ListRepositories(ctx, engine.ListOptions{Prefix: "r3"}); len(p.Repositories) != 1 {
		t.Errorf("prefix r3: %+v", p)
	}
	if _, err := e.ListRepositories(ctx, engine.ListOptions{PageToken: "!!"}); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("bad token: %v", err)
	}
	u, err := e.StorageUsage(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	per := u.Repositories[0].Bytes
	if len(u.Repositories) != 5 || u.TotalBytes != per || u.SharedBytes != per || u.Repositories[0].SharedBytes != per {
		t.Errorf("usage of five copies of one image: %+v", u)
	}
	del, err := e.DeleteRepository(ctx, "r0/app")
	if err != nil || del.Tags != 1 || del.Manifests != 1 {
		t.Fatalf("DeleteRepository = %+v, %v", del, err)
	}
	if _, err := e.GetManifest(ctx, ref(t, "store:r0/app:v1")); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("deleted repository still reads: %v", err)
	}
	if _, err := e.DeleteRepository(ctx, "r0/app"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if rep, err := e.RunGC(ctx, served.GCOptions{DryRun: true}); err != nil || rep.Repositories != 4 {
		t.Errorf("RunGC = %+v, %v", rep, err)
	}
	ro, _ := newServed(t, engine.Options{DisableDelete: true})
	if _, err := ro.DeleteRepository(ctx, "r1/app"); !errors.Is(err, errdef.ErrUnsupported) {
		t.Errorf("DeleteRepository with deletes disabled: %v", err)
	}
}

// TestServedUntagDisabled: serve --disable-delete refuses an untag of the
// served store, as it refuses a DELETE on the registry port.
func TestServedUntagDisabled(t *testing.T) {
	ctx := context.Background()
	e, src := newServed(t, engine.Options{DisableDelete: true})
	if _, err := e.Copy(ctx, ref(t, src), ref(t, "store:app:v1"), engine.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Untag(ctx, ref(t, "127.0.0.1:5000/app:v1")); !errors.Is(err, errdef.ErrUnsupported) {
		t.Errorf("untag with deletes disabled: %v", err)
	}
	if tags, err := e.ListTags(ctx, ref(t, "store:app")); err != nil || len(tags) != 1 {
		t.Errorf("tags %v, %v", tags, err)
	}
}
