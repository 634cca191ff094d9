package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
)

// checkPlatformFlags rejects contradictory index choices before any I/O.
func checkPlatformFlags(all bool, opts imgcopy.Options) error {
	switch {
	case all && (opts.Platform != "" || len(opts.Platforms) > 0):
		return usageError{fmt.Errorf("--all copies every platform: drop it or --platform/--platforms")}
	case opts.Platform != "" && len(opts.Platforms) > 0:
		return usageError{fmt.Errorf("--platform picks one manifest, --platforms an index of several: use one")}
	case opts.Sparse && len(opts.Platforms) == 0:
		return usageError{fmt.Errorf("--sparse needs --platforms")}
	}
	return nil
}

// isTerminal reports whether w is a terminal, of some width, where
// progress bars can redraw themselves.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	return err == nil && width > 0
}

// barRenderer draws one progress bar per blob being transferred, then a
// line for each blob skipped or mounted and each manifest.
type barRenderer struct {
	p    *mpb.Progress
	bars map[digest.Digest]*mpb.Bar
	// lines (blobs skipped or mounted, manifests pushed) are printed below
	// the bars once they are done: mpb prints lines written to it only at
	// a redraw, which the last bar's completion may not bring.
	w     io.Writer
	lines []string
}

func newBarRenderer(ctx context.Context, w io.Writer) *barRenderer {
	b := &barRenderer{p: mpb.NewWithContext(ctx, mpb.WithOutput(w), mpb.WithWidth(32)), bars: map[digest.Digest]*mpb.Bar{},
		w: w}
	return b
}

// event is the copy's Progress callback; the copy calls it one event at a
// time, so the map needs no lock.
func (b *barRenderer) event(e imgcopy.Event) {
	d := e.Desc.Digest
	switch e.Kind {
	case imgcopy.KindBlobStarted:
		if _, ok := b.bars[d]; !ok {
			b.bars[d] = b.p.AddBar(e.Desc.Size,
				mpb.PrependDecorators(decor.Name(shortDigest(d), decor.WC{C: decor.DindentRight | decor.DextraSpace})),
				mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace), decor.Percentage(decor.WCSyncSpace)))
		}
	case imgcopy.KindBlobBytes:
		if bar := b.bars[d]; bar != nil {
			// A resumed or resent upload may start over: SetCurrent, not IncrBy.
			bar.SetCurrent(e.Bytes)
		}
	case imgcopy.KindBlobDone:
		if bar := b.bars[d]; bar != nil {
			bar.SetCurrent(e.Desc.Size)
			if !bar.Completed() {
				bar.SetTotal(-1, true)
			}
		}
	case imgcopy.KindBlobSkipped, imgcopy.KindBlobMounted, imgcopy.KindImageDone, imgcopy.KindImageSkipped:
		var sb strings.Builder
		printEvent(&sb, e)
		b.lines = append(b.lines, sb.String())
	}
}

// wait stops the bars of blobs that did not finish (the copy failed) and
// waits for the last redraw.
func (b *barRenderer) wait() {
	for _, bar := range b.bars {
		if !bar.Completed() {
			bar.Abort(false)
		}
	}
	b.p.Wait()
	for _, l := range b.lines {
		io.WriteString(b.w, l)
	}
}

// shortDigest is the first 12 hex digits of d, as docker shows layers.
func shortDigest(d digest.Digest) string {
	if e := d.Encoded(); len(e) > 12 {
		return e[:12]
	}
	return d.String()
}
