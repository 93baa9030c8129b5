package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/assign-dev/assign/policy"
)

// PolicyFlags are the --policy file and one flag per policy key. The
// effective policy is the defaults, then the file, then the flags given.
type PolicyFlags struct {
	cmd  *cobra.Command
	File string
	p    policy.Policy
}

// AddPolicyFlags registers the policy flags on cmd.
func AddPolicyFlags(cmd *cobra.Command) *PolicyFlags {
	pf := &PolicyFlags{cmd: cmd, p: policy.Default()}
	d := policy.Default()
	fs := cmd.Flags()
	fs.StringVar(&pf.File, "policy", "", "policy file (TOML) overriding the defaults; flags override the file")
	fs.IntVar(&pf.p.MaxPerCategory, "max-per-category", d.MaxPerCategory, "at most this many snacks of one category in the capped pass")
	fs.BoolVar(&pf.p.FillIgnoringCaps, "fill-ignoring-caps", d.FillIgnoringCaps, "fill a short box from the rest ignoring the cap")
	fs.IntVar(&pf.p.RepeatWindowDays, "repeat-window-days", d.RepeatWindowDays, "days a delivered snack stays blocked")
	fs.IntVar(&pf.p.NeverAgainRating, "never-again-rating", d.NeverAgainRating, "a latest rating at or below this blocks the snack for good")
	fs.IntVar(&pf.p.NewSnackDays, "new-snack-days", d.NewSnackDays, "days after launch a snack counts as new")
	fs.IntVar(&pf.p.MinShelfDays, "min-shelf-days", d.MinShelfDays, "a lot is usable on D if best_before >= D + this")
	fs.Float64Var(&pf.p.PriorWeight, "prior-weight", d.PriorWeight, "popularity shrinkage m")
	fs.Float64Var(&pf.p.WPopularity, "w-popularity", d.WPopularity, "score weight of popularity")
	fs.Float64Var(&pf.p.WPreference, "w-preference", d.WPreference, "score weight of the category preference")
	fs.Float64Var(&pf.p.WAffinity, "w-affinity", d.WAffinity, "score weight of the category affinity")
	fs.Float64Var(&pf.p.WNovelty, "w-novelty", d.WNovelty, "score weight of novelty")
	return pf
}

// Resolve returns the effective policy.
func (pf *PolicyFlags) Resolve() (policy.Policy, error) {
	p := policy.Default()
	if pf.File != "" {
		// A policy that cannot be used is a mistake in the invocation, like
		// a flag out of range: exit status 2, nothing has run.
		var err error
		if p, err = policy.LoadFile(pf.File); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return p, FlagErrorf("--policy %s: cannot read the file (%v)", pf.File, pe.Err)
			}
			return p, &FlagError{Err: err}
		}
	}
	set := func(flag string, apply func()) {
		if pf.cmd.Flags().Changed(flag) {
			apply()
		}
	}
	set("max-per-category", func() { p.MaxPerCategory = pf.p.MaxPerCategory })
	set("fill-ignoring-caps", func() { p.FillIgnoringCaps = pf.p.FillIgnoringCaps })
	set("repeat-window-days", func() { p.RepeatWindowDays = pf.p.RepeatWindowDays })
	set("never-again-rating", func() { p.NeverAgainRating = pf.p.NeverAgainRating })
	set("new-snack-days", func() { p.NewSnackDays = pf.p.NewSnackDays })
	set("min-shelf-days", func() { p.MinShelfDays = pf.p.MinShelfDays })
	set("prior-weight", func() { p.PriorWeight = pf.p.PriorWeight })
	set("w-popularity", func() { p.WPopularity = pf.p.WPopularity })
	set("w-preference", func() { p.WPreference = pf.p.WPreference })
	set("w-affinity", func() { p.WAffinity = pf.p.WAffinity })
	set("w-novelty", func() { p.WNovelty = pf.p.WNovelty })
	if err := p.Validate(); err != nil {
		return p, &FlagError{Err: fmt.Errorf("%w (check the flag or the policy file)", err)}
	}
	return p, nil
}

// Overrides returns the policy keys the invocation sets, by policy file key:
// every key of the effective policy when a --policy file is given, else
// only the flags given. A what-if changes these over its base run's policy.
func (pf *PolicyFlags) Overrides() (map[string]any, error) {
	p, err := pf.Resolve()
	if err != nil {
		return nil, err
	}
	all := map[string]any{
		"max_per_category": p.MaxPerCategory, "fill_ignoring_caps": p.FillIgnoringCaps, "repeat_window_days": p.RepeatWindowDays,
		"never_again_rating": p.NeverAgainRating, "new_snack_days": p.NewSnackDays, "min_shelf_days": p.MinShelfDays,
		"prior_weight": p.PriorWeight, "w_popularity": p.WPopularity, "w_preference": p.WPreference, "w_affinity": p.WAffinity,
		"w_novelty": p.WNovelty,
	}
	if pf.File != "" {
		return all, nil
	}
	out := map[string]any{}
	for key, v := range all {
		if pf.cmd.Flags().Changed(strings.ReplaceAll(key, "_", "-")) {
			out[key] = v
		}
	}
	return out, nil
}
