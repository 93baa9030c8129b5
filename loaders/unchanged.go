package loaders

import (
	"context"
	"errors"
	"strconv"

	"github.com/assign-dev/assign/store"
)

// MetaChecksum is the assign_meta key holding the extract's content
// checksum (see checksumOf). Snapshots loaded before it existed lack it.
const MetaChecksum = "extract_checksum"

// sameSnapshots are the snapshots whose extract had a given checksum.
type sameSnapshots struct {
	current string   // the current snapshot, when it is one of them
	all     []string // all of them, oldest name first
}

// sameContent finds the snapshots of the home loaded from an extract with
// this checksum by this schema version (a snapshot of an older schema is not
// the same snapshot, whatever its extract). A snapshot whose metadata cannot
// be read is passed over: it is not this function's to judge.
func sameContent(ctx context.Context, home *store.Home, checksum string) (sameSnapshots, error) {
	var out sameSnapshots
	snaps, err := home.ListSnapshots()
	if err != nil {
		return out, err
	}
	for _, s := range snaps {
		if err := ctx.Err(); err != nil {
			return out, errors.New("load interrupted before it finished: the home is unchanged")
		}
		m, err := ReadMeta(ctx, s.Path)
		if err != nil {
			continue
		}
		if m.Meta[MetaChecksum] != checksum || m.Meta["schema_version"] != strconv.Itoa(SchemaVersion) {
			continue
		}
		out.all = append(out.all, s.Name)
		if s.Current {
			out.current = s.Name
		}
	}
	return out, nil
}
