package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDelete: `stevedore delete` removes a manifest (tag resolved to its
// digest) from distribution, from our registry and from a layout, as crane
// then sees; --tag-only removes just the tag; a registry
// with deletes disabled gets a message saying so.
func TestDelete(t *testing.T) {
	f := sharedFixtures(t)
	src := f.image(t, "oci").Ref()
	want := craneSees(t, src).Digest
	for _, reg := range []struct{ name, host string }{
		{"distribution", secondDistribution(t).Host},
		{"stevedore", sharedServer(t).Registry},
	} {
		t.Run(reg.name, func(t *testing.T) {
			repo := reg.host + "/delete/app"
			sdCopy(t, src, repo+":a")
			sdCopy(t, src, repo+":b")
			if got := strings.TrimSpace(string(sd(t, "delete", repo+":a"))); got != want {
				t.Errorf("delete printed %q, want %s", got, want)
			}
			for _, ref := range []string{repo + ":a", repo + ":b", repo + "@" + want} {
				if r, err := run(nil, "crane", "digest", ref); err != nil || r.Code == 0 {
					t.Errorf("crane digest %s after delete: exit %d (%v), want not found", ref, r.Code, err)
				}
			}
		})
	}

	t.Run("tag only", func(t *testing.T) {
		repo := sharedServer(t).Registry + "/delete/tagonly"
		sdCopy(t, src, repo+":a")
		sdCopy(t, src, repo+":b")
		sd(t, "delete", "--tag-only", repo+":a")
		if r, _ := run(nil, "crane", "digest", repo+":a"); r.Code == 0 {
			t.Errorf("tag a survived --tag-only")
		}
		if got := craneSees(t, repo+":b").Digest; got != want {
			t.Errorf("tag b: %s, want %s", got, want)
		}
		// distribution v3 deletes a tag on its own too (v2 answered 405).
		d := secondDistribution(t).Host + "/delete/tagonly"
		sdCopy(t, src, d+":a")
		sdCopy(t, src, d+":b")
		sd(t, "delete", "--tag-only", d+":a")
		if r, _ := run(nil, "crane", "digest", d+":a"); r.Code == 0 {
			t.Errorf("distribution: tag a survived --tag-only")
		}
		if got := craneSees(t, d+"@"+want).Digest; got != want {
			t.Errorf("distribution: manifest after --tag-only: %s, want %s", got, want)
		}
	})

	t.Run("deletes disabled", func(t *testing.T) {
		reg := newRestartableDistribution(t, "") // storage.delete not enabled
		ref := reg.Host + "/delete/app:a"
		sdCopy(t, src, ref)
		r, err := run(nil, stevedoreBin, "delete", ref)
		if err != nil || r.Code != 1 || !strings.Contains(string(r.Stderr), "deletes disabled") {
			t.Errorf("delete at a registry without deletes: exit %d (%v), stderr %s", r.Code, err, r.Stderr)
		}
		if got := craneSees(t, ref).Digest; got != want {
			t.Errorf("after refused delete: %s, want %s", got, want)
		}
	})

	t.Run("layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "layout")
		sdCopy(t, src, "oci:"+dir+":a")
		sdCopy(t, src, "oci:"+dir+":b")
		sd(t, "delete", "--tag-only", "oci:"+dir+":a")
		if got := strings.TrimSpace(string(mustRun(t, nil, "oras", "resolve", "--oci-layout", dir+":b"))); got != want {
			t.Errorf("oras resolve b after --tag-only a: %q, want %s", got, want)
		}
		sd(t, "delete", "oci:"+dir+"@"+want)
		if r, _ := run(nil, "oras", "resolve", "--oci-layout", dir+":b"); r.Code == 0 {
			t.Errorf("tag b survived deleting its manifest")
		}
	})
}
