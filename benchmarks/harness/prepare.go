package harness

import (
	"context"

	"github.com/assign-dev/assign/synth"
)

// PrepareHome returns the cached data home of scale sc with its extract
// loaded, generating the Parquet extract and loading it (with opt.Assign)
// when the cache lacks them, as make bench does. Other benchmark programs
// (the sharding benchmark) time their own commands on it. opt needs
// RepoRoot, Assign, CacheDir, Seed and Date; Log receives progress.
func PrepareHome(ctx context.Context, opt Options, sc synth.Scale) (*Home, error) {
	h := &harness{opt: opt}
	ex, err := h.ensureExtract(ctx, sc, synth.FormatParquet)
	if err != nil {
		return nil, err
	}
	return h.ensureHome(ctx, sc, ex)
}
