package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

func newLoginCmd() *cobra.Command {
	var ef engineFlags
	var user, pass string
	var passStdin bool
	cmd := &cobra.Command{
		Use:   "login REGISTRY -u USER --password-stdin",
		Short: "Check credentials with a registry and save them where docker, crane and skopeo read them",
		Long: `Check USER and the password against REGISTRY (GET /v2/, answering its Basic
or token challenge as docker login does), then save them in docker's
config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json): the
base64 user:password in auths[REGISTRY], every other field of the file kept,
mode 0600, replaced atomically. When the file names a credential helper for
REGISTRY (credHelpers) or for all (credsStore), the secret goes to
docker-credential-<name> instead, as docker does.

Read the password from stdin with --password-stdin; --password works but
leaves it in the shell history and the process list.`,
		Example: `  echo "$TOKEN" | stevedore login ghcr.io -u octocat --password-stdin
  stevedore login 127.0.0.1:5000 -u admin --password-stdin < password.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := registryHost(args[0])
			if err != nil {
				return usageError{err}
			}
			switch {
			case user == "":
				return usageError{errors.New("--username (-u) is required")}
			case passStdin && pass != "":
				return usageError{errors.New("--password and --password-stdin are exclusive")}
			case passStdin:
				if pass, err = readPassword(cmd.InOrStdin()); err != nil {
					return err
				}
			case pass == "":
				return usageError{errors.New("give the password with --password-stdin")}
			default:
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING: --password leaves the password in the shell history; use --password-stdin")
			}
			cred := registry.Credential{Username: user, Password: pass}
			if err := registry.Login(cmd.Context(), host, cred, registry.Options{Insecure: ef.insecure}); err != nil {
				return err
			}
			where, err := registry.SaveCredentials(cmd.Context(), host, cred)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Credentials saved in %s\n", where)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
			return err
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().StringVarP(&pass, "password", "p", "", "password (prefer --password-stdin)")
	cmd.Flags().BoolVar(&passStdin, "password-stdin", false, "read the password from stdin (up to the first newline)")
	return cmd
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout REGISTRY",
		Short: "Remove a registry's saved credentials",
		Long: `Remove REGISTRY's entry from docker's config.json (every spelling of the
host), and erase it from the credential helper the file names for it.`,
		Example: `  stevedore logout ghcr.io`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := registryHost(args[0])
			if err != nil {
				return usageError{err}
			}
			err = registry.RemoveCredentials(cmd.Context(), host)
			if errors.Is(err, errdef.ErrNotFound) {
				// As docker logout: nothing to forget is not a failure.
				fmt.Fprintf(cmd.ErrOrStderr(), "Not logged in to %s\n", host)
				return nil
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Removed login credentials for %s\n", host)
			return err
		},
	}
}

// registryHost accepts what docker login does: a bare host[:port], or a
// URL ("https://ghcr.io/", "https://index.docker.io/v1/") reduced to its host.
func registryHost(s string) (string, error) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("registry %q: not a host or URL", s)
		}
		s = u.Host
	}
	s = strings.TrimSuffix(s, "/")
	if s == "" || strings.ContainsAny(s, "/@ ") {
		return "", fmt.Errorf("registry %q: want a host[:port], such as ghcr.io or 127.0.0.1:5000", s)
	}
	return strings.ToLower(s), nil
}

// readPassword reads the first line of r, without its line ending, as
// docker login --password-stdin does.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty password on stdin: %w", errdef.ErrInvalid)
	}
	return line, nil
}
