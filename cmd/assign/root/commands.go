package root

import (
	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

// subcommands lists every verb; each lives in its own package.
func subcommands(f *cmdutil.Factory) []*cobra.Command {
	return []*cobra.Command{}
}
