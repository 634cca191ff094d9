package main

import (
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// passwordFlags are how a verb gets a private key's password, most explicit
// first: --password-file, --password, $COSIGN_PASSWORD (cosign's variable,
// so scripts work with both tools), then, as cosign does, a prompt when
// stdin is a terminal. Without a terminal a missing password is an error,
// never a blocking read.
type passwordFlags struct {
	file  string
	value string
}

func (p *passwordFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.file, "password-file", "", "read the private key's password from this file (first line)")
	cmd.Flags().StringVar(&p.value, "password", "", "the private key's password (visible to other users of this machine: prefer $COSIGN_PASSWORD or --password-file)")
}

// password returns the password; confirm (a new key) makes a prompt ask twice.
func (p *passwordFlags) password(cmd *cobra.Command, confirm bool) ([]byte, error) {
	switch {
	case p.file != "":
		b, err := os.ReadFile(p.file)
		if err != nil {
			return nil, err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return []byte(strings.TrimSuffix(line, "\r")), nil
	case cmd.Flags().Changed("password"):
		return []byte(p.value), nil
	}
	if v, ok := os.LookupEnv("COSIGN_PASSWORD"); ok {
		return []byte(v), nil
	}
	if tty, ok := terminalIn(cmd.InOrStdin()); ok {
		return promptPassword(tty, cmd.ErrOrStderr(), confirm)
	}
	return nil, fmt.Errorf("no password for the private key and no terminal to ask on: set COSIGN_PASSWORD (may be empty), --password-file or --password: %w", errdef.ErrInvalid)
}

// loadSigner reads and decrypts a cosign private key file.
func loadSigner(cmd *cobra.Command, path string, pf *passwordFlags) (crypto.Signer, error) {
	if path == "" {
		return nil, usageError{errors.New("--key is required")}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pw, err := pf.password(cmd, false)
	if err != nil {
		return nil, err
	}
	k, err := sign.DecryptPrivateKey(raw, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// loadPublicKeys reads each --key file (a PUBLIC KEY PEM); callers check
// that some trust is given.
func loadPublicKeys(paths []string) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		k, err := sign.ParsePublicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, k)
	}
	return out, nil
}

func newGenerateKeyPairCmd() *cobra.Command {
	var pf passwordFlags
	var prefix string
	var force bool
	cmd := &cobra.Command{
		Use:   "generate-key-pair",
		Short: "Generate an ECDSA P-256 key pair in cosign's format (PREFIX.key, PREFIX.pub)",
		Long: `Generate an ECDSA P-256 key pair as cosign generate-key-pair does: PREFIX.key
holds the private key encrypted with the password (scrypt + nacl/secretbox,
PEM "ENCRYPTED SIGSTORE PRIVATE KEY"), PREFIX.pub the public key. The files
work with cosign and stevedore alike. The password comes from --password-file,
--password or $COSIGN_PASSWORD (may be empty); otherwise, on a terminal, it is
asked for twice.`,
		Example: `  stevedore generate-key-pair
  COSIGN_PASSWORD=secret stevedore generate-key-pair --output-prefix release
  stevedore generate-key-pair --password-file pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub := prefix+".key", prefix+".pub"
			if !force {
				for _, p := range []string{priv, pub} {
					if _, err := os.Stat(p); err == nil {
						return fmt.Errorf("%s exists (use --force to replace it): %w", p, errdef.ErrAlreadyExists)
					} else if !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			pw, err := pf.password(cmd, true)
			if err != nil {
				return err
			}
			kp, err := sign.GenerateKeyPair(pw)
			if err != nil {
				return err
			}
			if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Private key written to %s\nPublic key written to %s\n", priv, pub)
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&prefix, "output-prefix", "cosign", "write the key pair to PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing key files")
	return cmd
}
