package report

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// writeFiles writes every file of a report into dir.
func writeFiles(dir string, sum *Summary, snacks []SnackRow) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	snackRows := [][]string{{"snack_id", "name", "category", "demand", "stock_usable", "covered", "shortage"}}
	for _, s := range snacks {
		snackRows = append(snackRows, []string{i64(s.SnackID), s.Name, s.Category, i64(s.Demand), i64(s.StockUsable), i64(s.Covered), i64(s.Shortage)})
	}
	catRows := [][]string{{"category", "snacks", "snacks_short", "demand", "mix_pct", "stock_usable", "covered", "shortage", "shortage_pct", "worst_snack", "worst_snack_shortage"}}
	for _, c := range sum.Categories {
		catRows = append(catRows, []string{c.Category, i64(c.Snacks), i64(c.SnacksShort), i64(c.Demand), f64(c.MixPct), i64(c.StockUsable), i64(c.Covered), i64(c.Shortage), f64(c.ShortagePct), c.WorstSnack, i64(c.WorstShortage)})
	}
	dateRows := [][]string{{"ship_on", "users", "boxes", "short_boxes", "box_lines", "missing_lines", "fill_pct", "demand", "covered", "shortage"}}
	for _, d := range sum.PerDate {
		dateRows = append(dateRows, []string{d.ShipOn, i64(d.Users), i64(d.Boxes), i64(d.ShortBoxes), i64(d.Lines), i64(d.Missing), f64(d.FillPct), i64(d.Demand), i64(d.Covered), i64(d.Shortage)})
	}
	for name, rows := range map[string][][]string{SnacksCSV: snackRows, CategoriesCSV: catRows, DatesCSV: dateRows} {
		if err := writeCSV(filepath.Join(dir, name), rows); err != nil {
			return err
		}
	}
	html, err := renderHTML(sum, snacks)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, HTMLFile), html, 0o644)
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// publish writes a report folder with write into a temporary folder beside
// it, syncs it, and moves it to parent/name: a new folder by rename, an
// existing one by an atomic exchange (renameat2), so a reader of the
// folder sees the old report or the new one, never a mix.
func publish(parent, name string, write func(tmp string) error) (string, error) {
	tmp, err := os.MkdirTemp(parent, ".tmp-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("create a temporary report folder in %s: %w", parent, err)
	}
	// MkdirTemp makes the folder private; a report is for everyone who can
	// read DIR.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := write(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := syncTree(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	final := filepath.Join(parent, name)
	if _, err := os.Stat(final); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, final); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("publish report %s: %w", final, err)
		}
	} else {
		if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE); err != nil {
			// A file system without exchange: move the old folder aside
			// first; the report is missing only between the two renames.
			old := tmp + ".old"
			if err := os.Rename(final, old); err != nil {
				os.RemoveAll(tmp)
				return "", fmt.Errorf("replace report %s: %w", final, err)
			}
			if err := os.Rename(tmp, final); err != nil {
				_ = os.Rename(old, final)
				os.RemoveAll(tmp)
				return "", fmt.Errorf("replace report %s: %w", final, err)
			}
			tmp = old
		}
		os.RemoveAll(tmp) // now the previous report
	}
	if d, err := os.Open(parent); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return final, nil
}

func syncTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync %s: %w", e.Name(), err)
		}
	}
	return nil
}
