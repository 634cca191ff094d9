package registry

import (
	"io"
)

// endChecked passes size bytes of r through, but the read that delivers the
// last of them also reads r to its end. A verifying r (an
// oci.NewVerifyReader, a copy's source stream) checks its digest only at
// EOF; net/http stops reading a body at its Content-Length, so without this
// a mismatch would surface after the registry already had every byte, and a
// registry that does not check digests would keep them. With it, the error
// comes instead of the last bytes (io.Copy would write bytes returned with
// an error), so the request is cut short.
func endChecked(r io.Reader, size int64) io.Reader {
	return &endCheck{r: r, left: size}
}

type endCheck struct {
	r    io.Reader
	left int64
}

func (e *endCheck) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return e.r.Read(p)
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if e.left > 0 || err != nil {
		return n, err
	}
	var one [1]byte
	for range 100 {
		m, err := e.r.Read(one[:])
		switch {
		case m > 0:
			// A verifying reader fails on the byte past its size; any other
			// reader is simply too long, which net/http would notice too.
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		case err == io.EOF:
			return n, nil
		case err != nil:
			return 0, err
		}
	}
	return n, io.ErrNoProgress
}
