// Package whatif is the `assign whatif` command: run a scenario with
// changed stock, policy or dates, and show its difference against the run
// it starts from.
package whatif

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/diff"
	scenario "github.com/assign-dev/assign/whatif"
)

// Options are the parsed flags of whatif.
type Options struct {
	Factory  *cmdutil.Factory
	Base     string
	Mode     string
	Date     string
	Days     int
	Add      []string
	Remove   []string
	Lot      []string
	Scale    []string
	SpecFile string
	Format   string
	Top      int
	Threads  int
	Policy   *cmdutil.PolicyFlags

	Spec scenario.Spec // filled by validation
}

// NewCmdWhatif builds `assign whatif`.
func NewCmdWhatif(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "whatif [changes]",
		Short: "Run a what-if scenario (changed stock, policy or dates) and compare it with its base run",
		Long: `Run a preassign or run on the current snapshot with changed inputs, as a
scenario of a base run (--base, default the latest run), and print what
changed against that base: the same comparison as assign diff.

Changes (repeat any of them):
  --add SNACK=UNITS          add units of a snack, as a new lot "whatif-added"
                             usable over the whole horizon
  --remove SNACK=UNITS       remove units of a snack, from its latest
                             best-before lots first
  --lot SNACK:LOT=+N|-N      add or remove units of one lot (never below 0)
  --scale CATEGORY=FACTOR    multiply the stock of every lot of a category
                             (0.5 halves it, 0 empties it)
  --mode, --date, --days     another mode or horizon than the base's
  --max-per-category 1 ...   any policy flag, over the base run's policy
  --spec FILE                the scenario as JSON (what the dashboard sends):
                             {"base": "...", "mode": "preassign", "days": 14,
                              "policy": {"max_per_category": 1},
                              "stock": [{"kind": "snack", "snack_id": 1242, "units": 500},
                                        {"kind": "lot", "snack_id": 1242, "lot_id": "L7", "units": -50},
                                        {"kind": "category", "category": "chips", "factor": 0.5}]}

The changes are applied to the engine's inputs after they are read; the
snapshot is never copied or changed, so a scenario takes the time of one
preassign. The scenario is written as a run folder whose id ends in
"-scenario" (the manifest records the base and the changes); it is listed
by assign query's runs table but never becomes latest.`,
		Example: `  # What if the 500 units of snack 1242 we ordered arrive?
  assign whatif --add 1242=500

  # Half the chips, one snack per category, as a stock-aware run
  assign whatif --scale chips=0.5 --max-per-category 1 --mode run

  # The same scenario from a file, the difference as JSON
  assign whatif --spec scenario.json --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return whatifRun(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Base, "base", "", "run the scenario starts from and is compared with (default: the latest run)")
	fs.StringVar(&opts.Mode, "mode", "", "preassign or run (default: the base run's mode)")
	fs.StringVar(&opts.Date, "date", "", "first ship date, YYYY-MM-DD (default: the base run's)")
	fs.IntVar(&opts.Days, "days", 0, "days in the horizon (default: the base run's)")
	fs.StringArrayVar(&opts.Add, "add", nil, "SNACK=UNITS: add units of a snack (repeatable)")
	fs.StringArrayVar(&opts.Remove, "remove", nil, "SNACK=UNITS: remove units of a snack (repeatable)")
	fs.StringArrayVar(&opts.Lot, "lot", nil, "SNACK:LOT=+N or -N: change one lot (repeatable)")
	fs.StringArrayVar(&opts.Scale, "scale", nil, "CATEGORY=FACTOR: scale a category's stock (repeatable)")
	fs.StringVar(&opts.SpecFile, "spec", "", "read the scenario from this JSON file; flags add to it")
	fs.StringVar(&opts.Format, "format", "table", "output: table or json")
	fs.IntVar(&opts.Top, "top", 10, "snacks and changed boxes listed")
	fs.IntVar(&opts.Threads, "threads", 0, "worker threads (default: all cores); results do not depend on it")
	opts.Policy = cmdutil.AddPolicyFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"preassign", "run"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (o *Options) validate() error {
	var spec scenario.Spec
	if o.SpecFile != "" {
		b, err := os.ReadFile(o.SpecFile)
		if err != nil {
			return cmdutil.FlagErrorf("--spec %s: %v", o.SpecFile, errors.Unwrap(err))
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return cmdutil.FlagErrorf("--spec %s: not a scenario: %v", o.SpecFile, err)
		}
	}
	if o.Base != "" {
		spec.Base = o.Base
	}
	if o.Mode != "" {
		if err := cmdutil.CheckChoice("mode", o.Mode, "preassign", "run"); err != nil {
			return err
		}
		spec.Mode = o.Mode
	}
	if o.Date != "" {
		if _, err := cmdutil.ParseDateFlag("date", o.Date); err != nil {
			return err
		}
		spec.Date = o.Date
	}
	if o.Days != 0 {
		if err := cmdutil.CheckIntRange("days", o.Days, 1, 366); err != nil {
			return err
		}
		spec.Days = o.Days
	}
	for _, v := range o.Add {
		id, n, err := snackUnits("add", v)
		if err != nil {
			return err
		}
		spec.Stock = append(spec.Stock, scenario.StockChange{Kind: scenario.KindSnack, SnackID: id, Units: n})
	}
	for _, v := range o.Remove {
		id, n, err := snackUnits("remove", v)
		if err != nil {
			return err
		}
		spec.Stock = append(spec.Stock, scenario.StockChange{Kind: scenario.KindSnack, SnackID: id, Units: -n})
	}
	for _, v := range o.Lot {
		key, val, ok := strings.Cut(v, "=")
		snack, lot, ok2 := strings.Cut(key, ":")
		id, err1 := strconv.ParseInt(snack, 10, 64)
		n, err2 := strconv.ParseInt(val, 10, 32)
		if !ok || !ok2 || lot == "" || err1 != nil || err2 != nil || n == 0 {
			return cmdutil.FlagErrorf("--lot %q: want SNACK:LOT=+N or SNACK:LOT=-N, e.g. 1242:L-0007=-50", v)
		}
		spec.Stock = append(spec.Stock, scenario.StockChange{Kind: scenario.KindLot, SnackID: id, LotID: lot, Units: n})
	}
	for _, v := range o.Scale {
		cat, val, ok := strings.Cut(v, "=")
		f, err := strconv.ParseFloat(val, 64)
		if !ok || cat == "" || err != nil || f < 0 || f > 1000 {
			return cmdutil.FlagErrorf("--scale %q: want CATEGORY=FACTOR with a factor from 0 to 1000, e.g. chips=0.5", v)
		}
		spec.Stock = append(spec.Stock, scenario.StockChange{Kind: scenario.KindCategory, Category: cat, Factor: f})
	}
	over, err := o.Policy.Overrides()
	if err != nil {
		return err
	}
	if len(over) > 0 && spec.Policy == nil {
		spec.Policy = map[string]any{}
	}
	for k, v := range over {
		spec.Policy[k] = v
	}
	if err := cmdutil.CheckChoice("format", o.Format, "table", "json"); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("top", o.Top, 0, 1000000); err != nil {
		return err
	}
	if err := cmdutil.CheckIntRange("threads", o.Threads, 0, 1024); err != nil {
		return err
	}
	o.Spec = spec
	return nil
}

func snackUnits(flag, v string) (int64, int64, error) {
	key, val, ok := strings.Cut(v, "=")
	id, err1 := strconv.ParseInt(key, 10, 64)
	n, err2 := strconv.ParseInt(val, 10, 32)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return 0, 0, cmdutil.FlagErrorf("--%s %q: want SNACK=UNITS with a positive number of units, e.g. 1242=500", flag, v)
	}
	return id, n, nil
}

func whatifRun(ctx context.Context, o *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	f := o.Factory
	home, err := f.Home()
	if err != nil {
		return err
	}
	p, err := scenario.Prepare(home, o.Spec)
	if err != nil {
		return asUsage(err)
	}
	prog := f.NewProgress()
	out, err := scenario.Run(ctx, home, p, scenario.Options{
		Threads: o.Threads, Now: f.Now, Version: cmdutil.BuildVersion(), Logger: f.Logger,
		Stage: func(name string) { prog.Stage(name, 0) }, Progress: prog.Set, DiffLimit: max(o.Top, 1),
	})
	prog.Done()
	if err != nil {
		return asUsage(err)
	}
	if o.Format == "json" {
		return diff.Write(f.IO.Out, out.Diff, "json", "all", o.Top)
	}
	fmt.Fprintf(f.IO.Out, "Scenario %s written to %s in %.2fs\n\n", out.Run.ID, out.Run.Dir, out.Manifest.Timings["total"])
	diff.PrintText(f.IO.Out, out.Diff, "all", o.Top)
	return nil
}

// asUsage shows a scenario's own mistakes (an unknown snack) as usage
// errors: nothing ran, and the invocation needs fixing.
func asUsage(err error) error {
	var se *scenario.SpecError
	if errors.As(err, &se) {
		return &cmdutil.FlagError{Err: err}
	}
	return err
}
