package retention

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// PullLog remembers when each tag and digest of the served store was last
// pulled. Recording is a map update in memory — no write per request;
// Flush, which the server calls now and then and at shutdown, writes the
// log to its file whole, atomically (temp file, fsync, rename), and only
// when something changed. Times are kept to the second.
//
// The log also stands between pulls and retention: a pull is recorded
// before its manifest is read, under the lock Locked holds while retention
// removes a tag, so a tag is either removed before a pull reads it (which
// then fails cleanly) or seen as pulled just now (and kept).
type PullLog struct {
	path string
	now  func() time.Time

	mu    sync.Mutex
	since time.Time                   // when recording began
	pulls map[string]map[string]int64 // repository -> tag or digest -> unix seconds
	dirty bool
}

// pullFile is the file's JSON.
type pullFile struct {
	Since int64                       `json:"since"`
	Pulls map[string]map[string]int64 `json:"pulls"`
}

// maxPullFile bounds the file read at start.
const maxPullFile = 256 << 20

// OpenPullLog reads the log at path, or starts one (recording from now)
// when there is no file yet. Nothing is written until Flush.
func OpenPullLog(path string) (*PullLog, error) {
	l := &PullLog{path: path, now: time.Now, pulls: map[string]map[string]int64{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		l.since, l.dirty = l.now().Truncate(time.Second), true
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pull log: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxPullFile {
		return nil, fmt.Errorf("pull log %s: larger than %d bytes", path, maxPullFile)
	}
	var pf pullFile
	if err := json.NewDecoder(f).Decode(&pf); err != nil {
		return nil, fmt.Errorf("pull log %s: %w", path, err)
	}
	l.since = time.Unix(pf.Since, 0)
	if pf.Pulls != nil {
		l.pulls = pf.Pulls
	}
	return l, nil
}

// RecordPull notes that ref (a tag or a digest) of repository repo is
// being pulled now. The returned forget undoes the note, for a pull that
// found nothing: names that do not exist must not grow the log.
func (l *PullLog) RecordPull(repo, ref string) (forget func()) {
	now := l.now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	refs := l.pulls[repo]
	if refs == nil {
		refs = map[string]int64{}
		l.pulls[repo] = refs
	}
	prev, had := refs[ref]
	if prev != now {
		refs[ref], l.dirty = now, true
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if refs[ref] != now {
			return // pulled again since
		}
		if had {
			refs[ref] = prev
		} else {
			delete(refs, ref)
			if len(l.pulls[repo]) == 0 {
				delete(l.pulls, repo)
			}
		}
	}
}

// LastPull returns the latest pull of any of refs in repo; zero when none
// was recorded.
func (l *PullLog) LastPull(repo string, refs ...string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastPullLocked(repo, refs...)
}

func (l *PullLog) lastPullLocked(repo string, refs ...string) time.Time {
	var last int64
	for _, r := range refs {
		last = max(last, l.pulls[repo][r])
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(last, 0)
}

// Since is when the log began recording: a tag pushed before and never
// pulled since counts as pulled then, not never.
func (l *PullLog) Since() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.since
}

// Forget drops the records of refs in repo (removed by retention).
func (l *PullLog) Forget(repo string, refs ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range refs {
		if _, ok := l.pulls[repo][r]; ok {
			delete(l.pulls[repo], r)
			l.dirty = true
		}
	}
	if len(l.pulls[repo]) == 0 {
		delete(l.pulls, repo)
	}
}

// locked runs fn with no pull being recorded meanwhile; fn gets the
// latest pull of refs in repo.
func (l *PullLog) locked(repo string, refs []string, fn func(last time.Time) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fn(l.lastPullLocked(repo, refs...))
}

// Flush writes the log if it changed since the last Flush.
func (l *PullLog) Flush() error {
	l.mu.Lock()
	if !l.dirty {
		l.mu.Unlock()
		return nil
	}
	b, err := json.Marshal(pullFile{Since: l.since.Unix(), Pulls: l.pulls})
	l.dirty = false
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(l.path, b); err != nil {
		l.mu.Lock()
		l.dirty = true
		l.mu.Unlock()
		return fmt.Errorf("pull log: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with b: a temp file beside it, fsynced,
// renamed over it, the directory fsynced.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".pulls-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
