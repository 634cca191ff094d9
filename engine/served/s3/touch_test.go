package s3

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store/storetest"
)

// TestTouchBeforeGC touches old, unreferenced blobs on one replica and
// collects on another: what was touched — before the sweep, or in the
// instant between the sweep's last check and its delete — survives; what
// was not is collected, after which touching it reports it missing.
func TestTouchBeforeGC(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 2)
	repo, err := rs[0].CreateRepo(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	put := func(content string) digest.Digest {
		t.Helper()
		b, d := storetest.Blob(content)
		if err := rs[0].Put(ctx, repo, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d.Digest
	}
	touched, untouched, racing := put("touched"), put("untouched"), put("touched while the sweep deletes")
	f.age("", 2*time.Hour)
	keys := rs[0].s.keys

	if err := rs[1].Touch(ctx, repo, touched); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	if err := rs[1].Touch(ctx, repo, touched, digest.FromString("never pushed")); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Touch of a blob the repository lacks: %v, want not found", err)
	}
	// Another replica's Touch lands after the sweep's last look at the
	// marker, just before its delete.
	racingKey := keys.member("app", racing)
	f.before = func(method, key string) {
		if method == http.MethodDelete && key == racingKey {
			f.store(key, memberStamp())
		}
	}
	rep, err := rs[0].GC(ctx, served.GCOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.before = nil
	f.mu.Unlock()
	if rep.Removed != 1 || rep.PoolRemoved != 1 {
		t.Errorf("report %+v, want one marker and one blob removed", rep)
	}
	for _, tc := range []struct {
		name string
		d    digest.Digest
		kept bool
	}{
		{"touched", touched, true},
		{"untouched", untouched, false},
		{"touched during the sweep", racing, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []string{keys.blob(tc.d), keys.member("app", tc.d)} {
				if _, ok := f.objects[key]; ok != tc.kept {
					t.Errorf("%s kept = %v, want %v", key, ok, tc.kept)
				}
			}
			err := rs[1].Touch(ctx, repo, tc.d)
			if tc.kept && err != nil || !tc.kept && !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("Touch after GC: %v, want kept = %v", err, tc.kept)
			}
		})
	}
	t.Run("bytes gone", func(t *testing.T) {
		f.mu.Lock()
		delete(f.objects, keys.blob(touched))
		f.mu.Unlock()
		if err := rs[1].Touch(ctx, repo, touched); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("Touch with the marker but not the bytes: %v, want not found", err)
		}
	})
}
