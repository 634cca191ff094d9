package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// fixture is a data directory to push images into, with control over
// their push times.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	b    served.Backend
	now  time.Time
	logf string
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	root, err := served.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: context.Background(), dir: dir, b: root.Backend(), now: time.Now().Truncate(time.Second), logf: filepath.Join(t.TempDir(), "pulls.json")}
}

// blob stores b in repository name.
func (f *fixture) blob(name string, b []byte, mt string) oci.Descriptor {
	f.t.Helper()
	repo, err := f.b.CreateRepo(f.ctx, name)
	if err != nil {
		f.t.Fatal(err)
	}
	defer repo.Close()
	d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := f.b.Put(f.ctx, repo, d, bytes.NewReader(b)); err != nil {
		f.t.Fatal(err)
	}
	return d
}

// manifest pushes a manifest document (tagged with tags, or an untagged
// root) pushed age ago.
func (f *fixture) manifest(name string, doc map[string]any, age time.Duration, tags ...string) oci.Descriptor {
	f.t.Helper()
	raw, _ := json.Marshal(doc)
	mt, _ := doc["mediaType"].(string)
	m, err := served.PutManifest(f.ctx, f.b, name, raw, served.ManifestPut{MediaType: mt, Tags: tags})
	if err != nil {
		f.t.Fatal(err)
	}
	repo, _ := f.b.Repo(f.ctx, name)
	defer repo.Close()
	path, _ := repo.(*store.FS).BlobPath(m.Digest)
	at := f.now.Add(-age)
	if err := os.Chtimes(path, at, at); err != nil {
		f.t.Fatal(err)
	}
	return oci.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(raw))}
}

// image pushes a one-layer image whose content is unique to label.
func (f *fixture) image(name, label string, age time.Duration, tags ...string) oci.Descriptor {
	f.t.Helper()
	cfg := f.blob(name, fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","config":{"Labels":{"l":%q}}}`, label), oci.MediaTypeImageConfig)
	layer := f.blob(name, []byte("layer of "+label), oci.MediaTypeLayerGzip)
	return f.manifest(name, map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": []oci.Descriptor{layer},
	}, age, tags...)
}

// referrer pushes an artifact whose subject is subject, untagged.
func (f *fixture) referrer(name, label string, subject oci.Descriptor) oci.Descriptor {
	f.t.Helper()
	empty := f.blob(name, []byte("{}"), oci.MediaTypeEmptyJSON)
	layer := f.blob(name, []byte("signature "+label), "application/octet-stream")
	return f.manifest(name, map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "artifactType": "application/example",
		"config": empty, "layers": []oci.Descriptor{layer}, "subject": subject,
	}, 0)
}

func (f *fixture) pulls(since time.Duration) *PullLog {
	f.t.Helper()
	l, err := OpenPullLog(f.logf)
	if err != nil {
		f.t.Fatal(err)
	}
	l.since = f.now.Add(-since)
	return l
}

// pullAt records a pull of ref at age ago.
func pullAt(l *PullLog, now time.Time, repo, ref string, age time.Duration) {
	l.now = func() time.Time { return now.Add(-age) }
	l.RecordPull(repo, ref)
	l.now = time.Now
}

func tagsOf(actions []Action) []string {
	var out []string
	for _, a := range actions {
		if a.Tag != "" {
			out = append(out, a.Repository+":"+a.Tag)
		} else {
			out = append(out, a.Repository+"@"+a.Digest.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestTagRules(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name   string
		policy Policy
		pulls  map[string]time.Duration // tag -> pulled this long ago
		want   []string                 // removed tags of repo "app"
	}{
		{"keep last two", Policy{Repositories: "app", KeepLast: 2}, nil, []string{"1.0.0", "1.5.0", "latest"}},
		{"keep last plus a pattern", Policy{Repositories: "app", KeepLast: 2, KeepTags: []string{"^latest$"}}, nil, []string{"1.0.0", "1.5.0"}},
		{"semver range", Policy{Repositories: "app", KeepSemver: ">= 2"}, nil, []string{"1.0.0", "1.5.0", "latest"}},
		{"pushed within", Policy{Repositories: "app", KeepPushedWithin: 5 * day}, nil, []string{"1.0.0", "1.5.0", "latest"}},
		// v2.1 was pulled 3 days ago but pushed 1 day ago: a push counts as a pull.
		{"pulled within", Policy{Repositories: "app", KeepPulledWithin: 2 * day}, map[string]time.Duration{"1.0.0": day, "v2.1": 3 * day}, []string{"1.5.0", "latest", "v2.0"}},
		{"a pull in progress keeps anything", Policy{Repositories: "app", KeepLast: 1}, map[string]time.Duration{"1.0.0": time.Minute}, []string{"1.5.0", "latest", "v2.0"}},
		{"no policy covers it", Policy{Repositories: "other/**", KeepLast: 1}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			// Pushed 10, 8, 6, 4 and 1 days ago.
			f.image("app", "latest", 10*day, "latest")
			f.image("app", "1.0.0", 8*day, "1.0.0")
			f.image("app", "1.5.0", 6*day, "1.5.0")
			f.image("app", "2.0", 4*day, "v2.0")
			f.image("app", "2.1", day, "v2.1")
			log := f.pulls(30 * day)
			for tag, age := range tt.pulls {
				pullAt(log, f.now, "app", tag, age)
			}
			opts := Options{Policies: []Policy{tt.policy}, Pulls: log, Now: f.now}
			plan, err := Evaluate(f.ctx, f.b, opts)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, tag := range tt.want {
				want = append(want, "app:"+tag)
			}
			if diff := cmp.Diff(want, tagsOf(plan.Actions)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			res, err := Apply(f.ctx, f.b, plan, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tagsOf(plan.Actions), tagsOf(res.Removed)); diff != "" || len(res.Kept) != 0 {
				t.Errorf("applied (-plan +removed):\n%s\nkept: %v", diff, res.Kept)
			}
			again, err := Evaluate(f.ctx, f.b, opts)
			if err != nil || len(again.Actions) != 0 {
				t.Errorf("a second evaluation removes %v (%v)", tagsOf(again.Actions), err)
			}
		})
	}
}

// TestUntaggedAndAttached: untagged manifests go unless a kept image
// reaches them (index members, referrers, referrers of referrers), and
// referrers-schema tags go with the manifest they name.
func TestUntaggedAndAttached(t *testing.T) {
	day := 24 * time.Hour
	f := newFixture(t)
	old := f.image("app", "old", 9*day, "old")
	keep := f.image("app", "keep", day, "keep")
	member := f.image("app", "member", day) // untagged, a member of the index below
	f.manifest("app", map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{member}}, day, "index")
	sigKeep := f.referrer("app", "keep", keep)
	sigOfSig := f.referrer("app", "sig of sig", sigKeep)
	sigOld := f.referrer("app", "old", old)
	orphan := f.image("app", "orphan", 5*day)
	// cosign's tag schema, naming old's and keep's digests.
	attachedOld := f.image("app", "att-old", day, strings.Replace(old.Digest.String(), ":", "-", 1)+".sig")
	f.image("app", "att-keep", day, strings.Replace(keep.Digest.String(), ":", "-", 1)+".sig")

	opts := Options{Policies: []Policy{{Repositories: "**", KeepPushedWithin: 3 * day, RemoveUntagged: true}}, Pulls: f.pulls(30 * day), Now: f.now}
	plan, err := Evaluate(f.ctx, f.b, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"app:old",
		"app:" + strings.Replace(old.Digest.String(), ":", "-", 1) + ".sig",
		"app@" + sigOld.Digest.String(),
		"app@" + orphan.Digest.String(),
	}
	if attachedOld.Digest == "" {
		t.Fatal("no attached image")
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, tagsOf(plan.Actions)); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	if plan.TagsKept != 3 {
		t.Errorf("TagsKept = %d, want 3 (keep, index, keep's .sig)", plan.TagsKept)
	}
	res, err := Apply(f.ctx, f.b, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tagsOf(plan.Actions), tagsOf(res.Removed)); diff != "" {
		t.Errorf("applied (-plan +removed):\n%s", diff)
	}
	repo, _ := f.b.Repo(f.ctx, "app")
	defer repo.Close()
	for _, d := range []oci.Descriptor{keep, member, sigKeep, sigOfSig} {
		if _, err := served.ReadManifest(f.ctx, repo, d.Digest.String()); err != nil {
			t.Errorf("kept manifest %s: %v", d.Digest, err)
		}
	}
	if _, err := served.ReadManifest(f.ctx, repo, orphan.Digest.String()); err == nil {
		t.Errorf("orphan %s still there", orphan.Digest)
	}
}

// TestApplyChecksAgain: what changed between the plan and the run stays.
func TestApplyChecksAgain(t *testing.T) {
	day := 24 * time.Hour
	f := newFixture(t)
	f.image("app", "a", 5*day, "a")
	f.image("app", "b", 5*day, "b")
	f.image("app", "c", 5*day, "c")
	newer := f.image("app", "new", 0)
	log := f.pulls(30 * day)
	opts := Options{Policies: []Policy{{Repositories: "app", KeepPushedWithin: day}}, Pulls: log, Now: f.now}
	plan, err := Evaluate(f.ctx, f.b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(plan.Actions); !slices.Equal(got, []string{"app:a", "app:b", "app:c"}) {
		t.Fatalf("plan = %v", got)
	}
	// Meanwhile: a is pulled, b moves to another manifest, c is untagged.
	log.RecordPull("app", "a")
	repo, _ := f.b.Repo(f.ctx, "app")
	if err := repo.Tag(f.ctx, newer, "b"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Untag(f.ctx, "c"); err != nil {
		t.Fatal(err)
	}
	repo.Close()
	res, err := Apply(f.ctx, f.b, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 0 || len(res.Kept) != 3 {
		t.Fatalf("removed %v, kept %v", res.Removed, res.Kept)
	}
	for i, want := range []string{"within the pull grace", "moved to", "gone already"} {
		if !strings.Contains(res.Kept[i].Reason, want) {
			t.Errorf("kept[%d] = %+v, want reason with %q", i, res.Kept[i], want)
		}
	}
}

func TestPullLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "pulls.json")
	l, err := OpenPullLog(path)
	if err != nil {
		t.Fatal(err)
	}
	l.RecordPull("a", "v1")
	forget := l.RecordPull("a", "nope")
	forget()
	if !l.LastPull("a", "nope").IsZero() {
		t.Error("a forgotten pull is still recorded")
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(path)
	if err := l.Flush(); err != nil { // nothing changed: no write
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("Flush rewrote an unchanged log")
	}
	again, err := OpenPullLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.LastPull("a", "v1"); got.IsZero() || time.Since(got) > time.Minute {
		t.Errorf("reloaded pull of a:v1 = %v", got)
	}
	if !again.Since().Equal(l.Since()) {
		t.Errorf("since %v, want %v", again.Since(), l.Since())
	}
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPullLog(path); err == nil {
		t.Error("a corrupt log opened")
	}
}

func TestPolicyCompile(t *testing.T) {
	for _, p := range []Policy{
		{Repositories: "a"},
		{Repositories: "", KeepLast: 1},
		{Repositories: "a", KeepLast: -1},
		{Repositories: "a", KeepTags: []string{"("}},
		{Repositories: "a", KeepSemver: "not a range"},
	} {
		if err := p.Compile(); err == nil {
			t.Errorf("Compile(%+v) = nil", p)
		}
	}
}
