// Command stevedore is the daemonless OCI image toolkit: each verb calls the
// engine directly, and `stevedore serve` puts the same engine behind gRPC,
// REST and an OCI registry port.
//
// Exit status: 0 on success, 1 on failure, 2 on a usage error (unknown
// command or flag, wrong number of arguments).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/stevedore-dev/stevedore/service/version"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	// SIGINT and SIGTERM cancel the context every verb runs under; serve
	// shuts down gracefully on it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errDiffer) {
		return exitFailure // diff(1): the output said it all
	}
	fmt.Fprintln(stderr, "stevedore:", err)
	if hint := pathHint(err, args); hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	var uerr usageError
	if errors.As(err, &uerr) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitFailure
}

// newRootCmd builds the command tree. New verbs are added to the list below.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "stevedore",
		Short: "Daemonless OCI image toolkit and service",
		// Errors are printed once, by run, with the exit status they deserve.
		SilenceErrors: true,
		SilenceUsage:  true,
		// Runnable with no arguments so that `stevedore bogus` is a usage
		// error through Args rather than cobra's unknown-command path.
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		Version: version.Get().String(),
	}
	root.SetVersionTemplate("stevedore {{.Version}}\n")
	root.AddCommand(
		newVersionCmd(),
		newServeCmd(),
		newInspectCmd(),
		newManifestCmd(),
		newTagsCmd(),
		newBlobCmd(),
		newCopyCmd(),
		newMirrorCmd(),
		newGCCmd(),
		newLsCmd(),
		newCatCmd(),
		newExportCmd(),
		newValidateCmd(),
		newGenerateKeyPairCmd(),
		newSignCmd(),
		newVerifyCmd(),
		newAttestCmd(),
		newVerifyAttestationCmd(),
		newTreeCmd(),
		newBuildCmd(),
		newAppendCmd(),
		newArtifactCmd(),
		newMutateCmd(),
		newRebaseCmd(),
		newFlattenCmd(),
		newIndexCmd(),
		newTagCmd(),
		newDiffCmd(),
		newSizeCmd(),
		newHistoryCmd(),
		newDeleteCmd(),
		newLoginCmd(),
		newLogoutCmd(),
	)
	setHelp(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	addProfiling(root)
	markUsageErrors(root)
	return root
}

// errDiffer ends diff with exit status 1 and no message, as diff(1) ends
// when its inputs differ.
var errDiffer = errors.New("the images differ")

// usageError marks an error in how the command was invoked, as opposed to a
// failure while running it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// markUsageErrors wraps the argument validator of c and its subcommands so
// that their errors become usage errors.
func markUsageErrors(c *cobra.Command) {
	if validate := c.Args; validate != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := validate(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}
