package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

func newBlobCmd() *cobra.Command {
	var ef engineFlags
	var out string
	cmd := &cobra.Command{
		Use:   "blob REPO@DIGEST",
		Short: "Stream a blob to stdout or a file, verifying its digest",
		Long: `Stream a blob to stdout or a file. Every byte is hashed on the way; a blob whose
bytes do not match its digest fails (and with -o, no file is left behind).`,
		Example: `  stevedore blob 127.0.0.1:5000/app@sha256:4b8e... > layer.tar.gz
  stevedore blob -o config.json oci:./layout@sha256:9a1c...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := transport.ParseRef(args[0])
			if err != nil {
				return err
			}
			rc, _, err := ef.engine().GetBlob(cmd.Context(), ref, engine.BlobOptions{Verify: true})
			if err != nil {
				return err
			}
			defer rc.Close()
			if out == "" || out == "-" {
				_, err = io.Copy(cmd.OutOrStdout(), rc)
				return err
			}
			return writeFileAtomic(out, rc)
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` instead of stdout (only once verified)")
	return cmd
}

// writeFileAtomic copies r into a temp file beside path and renames it into
// place only when r ended cleanly (for a blob: verified).
func writeFileAtomic(path string, r io.Reader) error {
	return createFileAtomic(path, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// createFileAtomic lets fill write a temp file beside path, through a
// 1 MiB buffer, and renames it into place only when fill succeeded.
func createFileAtomic(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
