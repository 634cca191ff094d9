package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// terminalIn returns in as a file when it is a terminal one can prompt on.
func terminalIn(in io.Reader) (*os.File, bool) {
	f, ok := in.(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

// promptPassword asks for a private key's password on the terminal tty,
// without echo, with cosign's prompts; confirm (a new key) asks twice and
// fails when the answers differ.
func promptPassword(tty *os.File, w io.Writer, confirm bool) ([]byte, error) {
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(w, prompt)
		pw, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(w)
		return pw, err
	}
	pw, err := read("Enter password for private key: ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := read("Enter password for private key again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pw, again) {
		return nil, fmt.Errorf("passwords do not match: %w", errdef.ErrInvalid)
	}
	return pw, nil
}
