package loaders_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/assign-dev/assign/duck"
	"github.com/assign-dev/assign/internal/extractfixtures"
	"github.com/assign-dev/assign/store"
)

// TestFormatsLoadAlike loads the base extract in every format (typed and
// text Parquet and Arrow, JSON lines, and folders mixing formats) and
// expects the same snapshot content as from CSV.
func TestFormatsLoadAlike(t *testing.T) {
	ctx := context.Background()
	db := memDB(t)
	csvHome := newHome(t)
	res, err := load(t, csvHome, baseExtract, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := dumpSnapshot(t, res.Path)
	if !strings.Contains(want, "1|Sea Salt Chips|chips|2025-01-10 00:00:00|true") {
		t.Fatalf("unexpected CSV load:\n%s", want)
	}

	variants := []struct {
		name, format string
		typed        bool
	}{
		{"parquet typed", "parquet", true},
		{"parquet text", "parquet", false},
		{"arrow typed", "arrow", true},
		{"arrow text", "arrow", false},
		{"jsonl", "jsonl", false},
		{"jsonl typed", "jsonl", true},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "extract")
			if err := extractfixtures.Convert(ctx, db, baseExtract, dir, v.format, v.typed); err != nil {
				t.Fatal(err)
			}
			res, err := load(t, newHome(t), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range res.Tables {
				if tr.Format != v.format || tr.Source != tr.Table+"."+v.format {
					t.Errorf("%s: source %s format %s", tr.Table, tr.Source, tr.Format)
				}
			}
			if got := dumpSnapshot(t, res.Path); got != want {
				t.Errorf("snapshot differs from the CSV load\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}

	t.Run("folders of mixed files", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "extract")
		entries, _ := os.ReadDir(baseExtract)
		for i, e := range entries {
			table := strings.TrimSuffix(e.Name(), ".csv")
			in := duck.Quote(filepath.Join(baseExtract, e.Name()))
			if err := os.MkdirAll(filepath.Join(dir, table), 0o755); err != nil {
				t.Fatal(err)
			}
			// Rows split over two files of different formats; the
			// second half first by name would break file order, so the
			// names sort as the halves.
			first, second := extractfixtures.Formats[i%4], extractfixtures.Formats[(i+1)%4]
			numbered := fmt.Sprintf("SELECT *, row_number() OVER () AS rn__ FROM read_csv(%s, header=true, all_varchar=true)", in)
			for part, f := range []string{first, second} {
				cond := "rn__ <= 2"
				if part == 1 {
					cond = "rn__ > 2"
				}
				q := fmt.Sprintf("SELECT * EXCLUDE (rn__) FROM (%s) WHERE %s ORDER BY rn__", numbered, cond)
				if err := extractfixtures.WriteQuery(ctx, db, q, filepath.Join(dir, table, fmt.Sprintf("part-%d.%s", part+1, f)), f); err != nil {
					t.Fatal(err)
				}
			}
		}
		res, err := load(t, newHome(t), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range res.Tables {
			if tr.Files != 2 || tr.Format != "mixed" || tr.Source != tr.Table+"/" {
				t.Errorf("%s: %d files, format %s, source %s", tr.Table, tr.Files, tr.Format, tr.Source)
			}
		}
		if got := dumpSnapshot(t, res.Path); got != want {
			t.Errorf("snapshot differs from the CSV load\n--- got\n%s--- want\n%s", got, want)
		}
	})
}

// TestExtraColumnsKept checks that extra columns follow the spec columns in
// the snapshot with their values, whatever the source's column order and
// name case.
func TestExtraColumnsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, dir)
	writeFile(t, filepath.Join(dir, "users.csv"), []byte(`Next_Ship_On,STATUS,extra_note,USER_ID,Box_Size,cadence_days,Region
2026-03-02,active,vip,10,8,14,north
2026-03-09,paused,,11,6,28,south
2026-03-04,active,x,12,10,14,
2026-02-01,cancelled,,13,8,28,east
`))
	res, err := load(t, newHome(t), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := openSnap(t, res.Path)
	cols := queryStrings(t, db, "SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_catalog = 'snap' AND table_name = 'users' ORDER BY ordinal_position")
	want := []string{"user_id BIGINT", "status VARCHAR", "box_size INTEGER", "cadence_days INTEGER", "next_ship_on DATE", "extra_note VARCHAR", "Region VARCHAR"}
	if fmt.Sprint(cols) != fmt.Sprint(want) {
		t.Errorf("columns %v, want %v", cols, want)
	}
	rows := queryStrings(t, db, `SELECT user_id, extra_note, "Region" FROM users ORDER BY user_id`)
	wantRows := []string{"10|vip|north", "11|NULL|south", "12|x|NULL", "13|NULL|east"}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Errorf("rows %v, want %v", rows, wantRows)
	}
}

// TestMetadata checks assign_meta and assign_tables.
func TestMetadata(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "extract")
	copyDir(t, baseExtract, dir)
	os.Remove(filepath.Join(dir, "requests.csv"))
	res, err := load(t, newHome(t), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := openSnap(t, res.Path)
	abs, _ := filepath.Abs(dir)
	meta := queryStrings(t, db, "SELECT key, value FROM assign_meta ORDER BY key")
	if !regexp.MustCompile(`^xxh3-128:[0-9a-f]{32}$`).MatchString(res.Checksum) {
		t.Errorf("checksum %q", res.Checksum)
	}
	// load_id is random: one per load, named by the engine sidecar.
	id := regexp.MustCompile(`load_id\|([0-9a-f]{32})`).FindStringSubmatch(fmt.Sprint(meta))
	if id == nil {
		t.Fatalf("assign_meta has no load id: %v", meta)
	}
	if _, err := os.Stat(store.SidecarPath(res.Path)); err != nil {
		t.Errorf("no engine sidecar beside the snapshot: %v", err)
	}
	want := []string{"assign_version|test", "created_at|2026-03-01T02:00:00Z", "extract_checksum|" + res.Checksum, "load_id|" + id[1], "rows_rejected|0",
		"schema_version|1", "snapshot|" + res.Snapshot, "source_dir|" + abs}
	if fmt.Sprint(meta) != fmt.Sprint(want) {
		t.Errorf("assign_meta %v, want %v", meta, want)
	}
	tables := queryStrings(t, db, "SELECT * FROM assign_tables WHERE table_name IN ('users', 'requests') ORDER BY table_name")
	wantT := []string{"requests|||0|0|0|true", "users|users.csv|csv|1|4|0|false"}
	if fmt.Sprint(tables) != fmt.Sprint(wantT) {
		t.Errorf("assign_tables %v, want %v", tables, wantT)
	}
	if res.Snapshot != "snap-20260301-020000" {
		t.Errorf("snapshot name %s", res.Snapshot)
	}
	if _, err := os.Stat(res.Path + ".wal"); err == nil {
		t.Error("snapshot left a .wal file")
	}
}
