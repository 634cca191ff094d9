package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// The analyses of engine/analyze, over the image a reference names: the
// merged file view, one file, the root filesystem as a tar, diff, size,
// history, validation. opts.Platform picks the manifest of an index
// (default linux/<host arch>).

// Files lists the image's merged root filesystem: every layer applied in
// order, whiteouts and opaque directories honoured.
func (e *Engine) Files(ctx context.Context, ref transport.Ref, opts analyze.Options) (files []analyze.FileInfo, err error) {
	err = e.analyze(ctx, "list-files", ref, &opts, func(src transport.Source) error {
		files, err = analyze.Files(ctx, src, ref.Identifier(), opts)
		return err
	})
	return files, err
}

// LayerFiles lists the entries layer n (0 is the base) itself holds,
// whiteouts included.
func (e *Engine) LayerFiles(ctx context.Context, ref transport.Ref, n int, opts analyze.Options) (files []analyze.FileInfo, err error) {
	err = e.analyze(ctx, "list-files", ref, &opts, func(src transport.Source) error {
		files, err = analyze.LayerFiles(ctx, src, ref.Identifier(), n, opts)
		return err
	})
	return files, err
}

// ReadFile streams the regular file at name in the image's merged
// filesystem (symlinks followed inside the image only); see
// analyze.ReadFile for when its bytes are verified. Close the stream.
func (e *Engine) ReadFile(ctx context.Context, ref transport.Ref, name string, opts analyze.Options) (io.ReadCloser, error) {
	opts.ManifestLimit = e.limit(opts.ManifestLimit)
	src, err := e.open(ctx, ref)
	if err != nil {
		return nil, &Error{Op: "read-file", Ref: ref.String(), Err: err}
	}
	rc, err := analyze.ReadFile(ctx, src, ref.Identifier(), name, opts)
	if err != nil {
		closeT(src)
		return nil, &Error{Op: "read-file", Ref: ref.String(), Err: err}
	}
	if c, ok := src.(io.Closer); ok {
		rc = closeBoth{rc, c}
	}
	return rc, nil
}

// Export writes the image's merged root filesystem to w as one tar, as
// crane export does.
func (e *Engine) Export(ctx context.Context, ref transport.Ref, w io.Writer, opts analyze.Options) error {
	return e.analyze(ctx, "export", ref, &opts, func(src transport.Source) error {
		return analyze.Export(ctx, src, ref.Identifier(), w, opts)
	})
}

// Diff compares the images a and b name, which may live in different
// places: config fields, shared base layers, files added, removed and
// changed.
func (e *Engine) Diff(ctx context.Context, a, b transport.Ref, opts analyze.Options) (rep *analyze.DiffReport, err error) {
	err = e.analyze(ctx, "diff", a, &opts, func(srcA transport.Source) error {
		srcB, err := e.open(ctx, b)
		if err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
		defer closeT(srcB)
		rep, err = analyze.Diff(ctx, srcA, a.Identifier(), srcB, b.Identifier(), opts)
		return err
	})
	return rep, err
}

// Size reports the image's compressed, uncompressed and wasted bytes, per
// layer and in all.
func (e *Engine) Size(ctx context.Context, ref transport.Ref, opts analyze.Options) (rep *analyze.SizeReport, err error) {
	err = e.analyze(ctx, "size", ref, &opts, func(src transport.Source) error {
		rep, err = analyze.Size(ctx, src, ref.Identifier(), opts)
		return err
	})
	return rep, err
}

// History lists the image config's history, each entry with the layer it
// made.
func (e *Engine) History(ctx context.Context, ref transport.Ref, opts analyze.Options) (h []analyze.HistoryEntry, err error) {
	err = e.analyze(ctx, "history", ref, &opts, func(src transport.Source) error {
		h, err = analyze.History(ctx, src, ref.Identifier(), opts)
		return err
	})
	return h, err
}

// Validate reads the whole image, index or artifact (every platform) and
// reports every problem: descriptors that do not resolve, blobs that do
// not match their size and digest, diff_ids that do not match the layers,
// inconsistent media types. A nil error means the check ran; the verdict
// is the report's (analyze.Report.Valid).
func (e *Engine) Validate(ctx context.Context, ref transport.Ref, opts analyze.Options) (rep *analyze.Report, err error) {
	err = e.analyze(ctx, "validate", ref, &opts, func(src transport.Source) error {
		rep, err = analyze.Validate(ctx, src, ref.Identifier(), opts)
		return err
	})
	return rep, err
}

// analyze is read with the engine's manifest limit in opts.
func (e *Engine) analyze(ctx context.Context, op string, ref transport.Ref, opts *analyze.Options, fn func(transport.Source) error) error {
	opts.ManifestLimit = e.limit(opts.ManifestLimit)
	return e.read(ctx, op, ref, fn)
}
