package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/assign-dev/assign/atomicfs"
	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/engine"
	"github.com/assign-dev/assign/results"
	"github.com/assign-dev/assign/shard"
)

// SnapshotFingerprint identifies the content of the snapshot open in db: a
// SHA-256 of what it records about itself (assign_meta: name, load time,
// source; assign_tables: rows per table). A copy of the file (a local copy
// an init step fetched) has the same fingerprint; two loads never do, since
// their load times differ. A snapshot without assign_meta (written by hand)
// is fingerprinted by its tables' row counts.
func SnapshotFingerprint(ctx context.Context, db *duck.DB) (string, error) {
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()
		AND schema_name = current_schema() AND table_name IN ('assign_meta', 'assign_tables')`).Scan(&n); err != nil {
		return "", fmt.Errorf("fingerprint snapshot: %w", duck.Clean(err))
	}
	q := `SELECT 'meta', key, value FROM assign_meta UNION ALL
	      SELECT 'table', table_name, rows::VARCHAR FROM assign_tables ORDER BY ALL`
	if n < 2 {
		q = `SELECT 'size', table_name, estimated_size::VARCHAR FROM duckdb_tables()
		     WHERE database_name = current_database() AND NOT temporary ORDER BY ALL`
	}
	rows, err := db.Query(ctx, q)
	if err != nil {
		return "", fmt.Errorf("fingerprint snapshot: %w", duck.Clean(err))
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var a, b, c string
		if err := rows.Scan(&a, &b, &c); err != nil {
			return "", fmt.Errorf("fingerprint snapshot: %w", duck.Clean(err))
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", a, b, c)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("fingerprint snapshot: %w", duck.Clean(err))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writePart writes the shard's part folder <OutDir>/part-IIII-of-NNNN: the
// part tables, then part.json with every file's size and SHA-256, in a
// hidden folder published at the end (atomicfs), so the folder of that name
// exists only complete.
func writePart(ctx context.Context, db *duck.DB, req Request, snapshot string, res *engine.Result, started time.Time, timings map[string]time.Duration) (*shard.PartManifest, string, error) {
	fp, err := SnapshotFingerprint(ctx, db)
	if err != nil {
		return nil, "", err
	}
	final := filepath.Join(req.OutDir, req.Shard.PartName())
	dir, err := atomicfs.NewDir(final)
	if err != nil {
		return nil, "", fmt.Errorf("create part folder: %w", err)
	}
	defer dir.Abort()
	tmp := dir.Path
	tables := results.PartTables(res)
	t0 := time.Now()
	written, err := results.Write(ctx, db, tables, tmp, results.FormatParquet)
	if err != nil {
		return nil, "", err
	}
	timings["write"] = time.Since(t0)

	in := res.Inputs
	m := &shard.PartManifest{
		Format: shard.PartFormat, Mode: req.Mode.String(), Shard: req.Shard, ShardSource: req.ShardSource,
		Hash:     shard.HashName,
		Snapshot: shard.SnapshotRef{Name: snapshot, Fingerprint: fp},
		Dates:    shard.PartDates{From: in.D0.String(), Days: in.Days},
		Policy:   res.Policy, Version: req.Version, CreatedAt: started.UTC().Format(time.RFC3339),
		Attempt: attempt(), Flags: req.Flags, Quota: req.QuotaRef,
	}
	if m.Flags == nil {
		m.Flags = map[string]any{}
	}
	if req.Mode == engine.Assign {
		m.Allocator = req.Allocator.String()
	}
	m.Counts.Users = in.NumUsers()
	for di, date := range res.Dates {
		c := results.CountDate(res, di)
		pd := shard.PartDate{ShipOn: date.Day.String(), Users: c.Users, Boxes: c.Boxes, ShortBoxes: c.ShortBoxes, Demand: c.Demand}
		m.Counts.BoxLines += c.Lines
		m.Counts.Boxes += pd.Boxes
		m.Counts.ShortBoxes += pd.ShortBoxes
		m.Counts.Demand += pd.Demand
		if pd.Users > 0 {
			m.PerDate = append(m.PerDate, pd)
		}
	}
	for _, w := range written {
		n, sum, err := shard.FileSum(filepath.Join(tmp, w.File))
		if err != nil {
			return nil, "", fmt.Errorf("checksum %s: %w", w.File, err)
		}
		m.Files = append(m.Files, shard.PartFile{Table: w.Table, File: w.File, Rows: w.Rows, Bytes: n, SHA256: sum})
	}
	m.Checksum = shard.FilesChecksum(m.Files)
	m.Timings = map[string]float64{"total": time.Since(started).Seconds()}
	for k, v := range timings {
		m.Timings[k] = v.Seconds()
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := atomicfs.WriteFile(filepath.Join(tmp, shard.PartManifestFile), append(b, '\n')); err != nil {
		return nil, "", err
	}
	// A part left by an earlier attempt of the same shard is replaced in
	// one step.
	if err := dir.Publish(true); err != nil {
		return nil, "", fmt.Errorf("publish part %s: %w", final, err)
	}
	return m, final, nil
}

// attempt names the engine's attempt of this shard, when it says.
func attempt() string {
	for _, k := range []string{"AWS_BATCH_JOB_ATTEMPT", "CLOUD_RUN_TASK_ATTEMPT", "ASSIGN_SHARD_ATTEMPT"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return k + "=" + v
		}
	}
	return ""
}
