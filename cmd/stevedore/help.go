package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// helpTemplate puts what a reader scans for first: the one-line summary,
// then usage, examples and flags (cobra's usage template), and the long
// prose last, under Details.
const helpTemplate = `{{with .Short}}{{. | trimTrailingWhitespaces}}

{{end}}{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}{{with .Long}}
Details:
{{. | trimTrailingWhitespaces | indent}}
{{end}}`

// flagAliases are accepted spellings of flags, kept out of help: the plural
// that sign and verify used to take.
var flagAliases = map[string]string{"annotations": "annotation"}

// setHelp installs the help layout and flag aliases on root and, through
// cobra's inheritance, on every subcommand.
func setHelp(root *cobra.Command) {
	cobra.AddTemplateFunc("indent", func(s string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = "  " + l
			}
		}
		return strings.Join(lines, "\n")
	})
	root.SetHelpTemplate(helpTemplate)
	root.SetGlobalNormalizationFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if to, ok := flagAliases[name]; ok {
			name = to
		}
		return pflag.NormalizedName(name)
	})
}
