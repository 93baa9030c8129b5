package root

import (
	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/check"
	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/demo"
	"github.com/assign-dev/assign/cmd/assign/diff"
	"github.com/assign-dev/assign/cmd/assign/explain"
	"github.com/assign-dev/assign/cmd/assign/gen"
	"github.com/assign-dev/assign/cmd/assign/load"
	"github.com/assign-dev/assign/cmd/assign/merge"
	"github.com/assign-dev/assign/cmd/assign/preassign"
	"github.com/assign-dev/assign/cmd/assign/query"
	"github.com/assign-dev/assign/cmd/assign/report"
	"github.com/assign-dev/assign/cmd/assign/run"
	"github.com/assign-dev/assign/cmd/assign/serve"
	"github.com/assign-dev/assign/cmd/assign/shards"
	"github.com/assign-dev/assign/cmd/assign/snapshots"
	"github.com/assign-dev/assign/cmd/assign/whatif"
)

// subcommands lists every verb; each lives in its own package.
func subcommands(f *cmdutil.Factory) []*cobra.Command {
	return []*cobra.Command{
		preassign.NewCmdPreassign(f, nil),
		run.NewCmdRun(f, nil),
		explain.NewCmdExplain(f, nil),
		check.NewCmdCheck(f, nil),
		demo.NewCmdDemo(f, nil),
		load.NewCmdLoad(f, nil),
		snapshots.NewCmdSnapshots(f, nil),
		gen.NewCmdGen(f, nil),
		query.NewCmdQuery(f, nil),
		report.NewCmdReport(f, nil),
		diff.NewCmdDiff(f, nil),
		whatif.NewCmdWhatif(f, nil),
		merge.NewCmdMerge(f, nil),
		shards.NewCmdShards(f, nil),
		serve.NewCmdServe(f, nil),
	}
}
