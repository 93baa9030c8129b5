package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// RebuildSidecar writes the engine sidecar of the snapshot db has open at
// path again, from the snapshot's own tables (WriteSidecar), after a
// planning job found it missing, stale or damaged (Inputs.SidecarRebuild):
// the job itself read its inputs through SQL, later jobs read the new
// file. It needs the snapshot's load id: a snapshot loaded before the
// sidecar existed has none and gets no sidecar until it is loaded again
// (the error wraps ErrNoSidecar, as for a snapshot the format cannot hold).
// The file is replaced atomically, so a job reading the old one, or another
// job rebuilding it at the same time, is never disturbed.
func RebuildSidecar(ctx context.Context, db DB, path string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	id, err := snapshotLoadID(ctx, db)
	if err != nil {
		return fmt.Errorf("sidecar: snapshot load id: %w", err)
	}
	if id == "" {
		return fmt.Errorf("%w: the snapshot has no load id (it was loaded before the sidecar existed; load it again)", ErrNoSidecar)
	}
	t0 := time.Now()
	if err := WriteSidecar(ctx, db, path, id); err != nil {
		return err
	}
	logger.Info("engine sidecar rebuilt: later jobs on this snapshot read their per-user inputs from it", "path", path,
		"seconds", time.Since(t0).Seconds())
	return nil
}
