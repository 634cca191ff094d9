package build

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
)

// writeInput writes in's tar to w.
func writeInput(ctx context.Context, w io.Writer, in Input, opts layer.TarOptions) error {
	set := 0
	for _, b := range []bool{in.Dir != "", in.Tar != "", in.Reader != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("a layer input names exactly one of a directory, a tar file or a stream: %w", errdef.ErrInvalid)
	}
	if in.Dir != "" {
		return layer.WriteDir(ctx, w, in.Dir, opts)
	}
	r := in.Reader
	if in.Tar != "" {
		f, err := os.Open(in.Tar)
		if err != nil {
			if os.IsNotExist(err) {
				return fmt.Errorf("%v: %w", err, errdef.ErrNotFound)
			}
			return err
		}
		defer f.Close()
		r = f
	}
	tr, err := layer.Detect(r)
	if err != nil {
		return err
	}
	defer tr.Close()
	return layer.CopyTar(ctx, w, tr, opts)
}

// describe names the input in errors.
func (in Input) describe() string {
	switch {
	case in.Dir != "":
		return in.Dir
	case in.Tar != "":
		return in.Tar
	}
	return "stream"
}
