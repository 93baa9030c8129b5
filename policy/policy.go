// Package policy holds the tunable rules of box selection (SPEC section 3):
// their defaults, a TOML policy file, and validation.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Policy is the effective set of rules for one run. Field tags name the keys
// of the policy file and of the manifest.
type Policy struct {
	// MaxPerCategory is the most snacks of one category a box may hold in
	// the capped pass (requested snacks count toward it).
	MaxPerCategory int `toml:"max_per_category" json:"max_per_category"`
	// FillIgnoringCaps lets a box still short after the capped pass fill from
	// the rest of the ranking ignoring the cap.
	FillIgnoringCaps bool `toml:"fill_ignoring_caps" json:"fill_ignoring_caps"`
	// RepeatWindowDays: a delivery on shipped_on blocks the snack on D iff
	// D - RepeatWindowDays < shipped_on <= D.
	RepeatWindowDays int `toml:"repeat_window_days" json:"repeat_window_days"`
	// NeverAgainRating: a snack whose latest rating by the user is <= this is
	// never eligible again for that user.
	NeverAgainRating int `toml:"never_again_rating" json:"never_again_rating"`
	// NewSnackDays: a snack is new on D iff 0 <= D - launched_on < NewSnackDays.
	NewSnackDays int `toml:"new_snack_days" json:"new_snack_days"`
	// MinShelfDays: a lot is usable on D iff best_before >= D + MinShelfDays.
	MinShelfDays int `toml:"min_shelf_days" json:"min_shelf_days"`
	// PriorWeight is m, the number of pseudo-ratings at the global mean that
	// shrink a snack's popularity.
	PriorWeight float64 `toml:"prior_weight" json:"prior_weight"`
	// Score weights.
	WPopularity float64 `toml:"w_popularity" json:"w_popularity"`
	WPreference float64 `toml:"w_preference" json:"w_preference"`
	WAffinity   float64 `toml:"w_affinity" json:"w_affinity"`
	WNovelty    float64 `toml:"w_novelty" json:"w_novelty"`
}

// Default returns the defaults of SPEC section 3.
func Default() Policy {
	return Policy{
		MaxPerCategory:   2,
		FillIgnoringCaps: true,
		RepeatWindowDays: 180,
		NeverAgainRating: 2,
		NewSnackDays:     30,
		MinShelfDays:     21,
		PriorWeight:      20,
		WPopularity:      1.0,
		WPreference:      0.8,
		WAffinity:        0.6,
		WNovelty:         0.3,
	}
}

// Keys lists the policy file keys in a stable order.
func Keys() []string {
	return []string{"max_per_category", "fill_ignoring_caps", "repeat_window_days", "never_again_rating",
		"new_snack_days", "min_shelf_days", "prior_weight", "w_popularity", "w_preference", "w_affinity", "w_novelty"}
}

// Validate reports the first key out of its allowed range, naming the key,
// the value and the range.
func (p Policy) Validate() error {
	ints := []struct {
		key    string
		v      int
		lo, hi int
	}{
		{"max_per_category", p.MaxPerCategory, 0, 20},
		{"repeat_window_days", p.RepeatWindowDays, 0, 3650},
		{"never_again_rating", p.NeverAgainRating, 0, 5},
		{"new_snack_days", p.NewSnackDays, 0, 3650},
		{"min_shelf_days", p.MinShelfDays, 0, 3650},
	}
	for _, c := range ints {
		if c.v < c.lo || c.v > c.hi {
			return fmt.Errorf("policy key %s = %d is out of range: allowed %d..%d", c.key, c.v, c.lo, c.hi)
		}
	}
	floats := []struct {
		key    string
		v      float64
		lo, hi float64
	}{
		{"prior_weight", p.PriorWeight, 1e-9, 1e6},
		{"w_popularity", p.WPopularity, -1e6, 1e6},
		{"w_preference", p.WPreference, -1e6, 1e6},
		{"w_affinity", p.WAffinity, -1e6, 1e6},
		{"w_novelty", p.WNovelty, -1e6, 1e6},
	}
	for _, c := range floats {
		if math.IsNaN(c.v) || c.v < c.lo || c.v > c.hi {
			return fmt.Errorf("policy key %s = %v is out of range: allowed %g..%g", c.key, c.v, c.lo, c.hi)
		}
	}
	return nil
}

// Parse reads a TOML policy document over base: keys present replace base's
// values, absent keys keep them. Unknown keys and wrong types are errors
// naming the key; name is used in messages (usually the file path).
func Parse(name string, data []byte, base Policy) (Policy, error) {
	p := base
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&p)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return base, fmt.Errorf("policy file %s line %d: %s", name, perr.Position.Line, oneLine(strings.TrimSpace(perr.Message)))
		}
		return base, fmt.Errorf("policy file %s: %s", name, oneLine(cleanTOMLError(err)))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return base, fmt.Errorf("policy file %s: unknown key %q; known keys: %s", name, keys[0], strings.Join(Keys(), ", "))
	}
	if err := p.Validate(); err != nil {
		return base, fmt.Errorf("policy file %s: %w", name, err)
	}
	return p, nil
}

// oneLine escapes the line breaks the TOML decoder quotes from the file
// (found by FuzzParse: "not an octal number: '0o<newline>'"), so the error
// stays one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

func cleanTOMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "toml: ")
	return msg
}

// LoadFile reads the policy file at path over the defaults.
func LoadFile(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Default(), fmt.Errorf("read policy file: %w", err)
	}
	return Parse(path, b, Default())
}

// TOML renders p as a policy file, for `assign policy` and documentation.
func (p Policy) TOML() string {
	var b bytes.Buffer
	_ = toml.NewEncoder(&b).Encode(p)
	return b.String()
}
