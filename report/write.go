package report

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/assign-dev/assign/atomicfs"
)

// writeFiles writes every file of a report into dir.
func writeFiles(dir string, sum *Summary, snacks []SnackRow) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), append(b, '\n'), atomicfs.FilePerm); err != nil {
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
	return os.WriteFile(filepath.Join(dir, HTMLFile), html, atomicfs.FilePerm)
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
// it and moves it to parent/name in one step, replacing an older report of
// the same name (see atomicfs.Dir.Publish): a reader of the folder sees the
// old report or the new one, never a mix.
func publish(parent, name string, write func(tmp string) error) (string, error) {
	if err := CheckFolder(filepath.Join(parent, name)); err != nil {
		return "", err
	}
	d, err := atomicfs.NewDir(filepath.Join(parent, name))
	if err != nil {
		return "", fmt.Errorf("create a temporary report folder in %s: %w", parent, err)
	}
	defer d.Abort()
	if err := write(d.Path); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := d.Publish(true); err != nil {
		return "", err
	}
	return d.Final(), nil
}

// reportFiles are the files of a report folder.
var reportFiles = []string{HTMLFile, SummaryFile, SnacksCSV, CategoriesCSV, DatesCSV}

// CheckFolder reports whether the report folder dir may be written: it is
// missing, empty, or an earlier report (its summary.json beside report
// files, nothing else), which a new report replaces whole. A folder of
// that name holding anything else is refused rather than deleted.
func CheckFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("report folder %s: %w", dir, err)
	}
	var odd []string
	for _, e := range entries {
		if !slices.Contains(reportFiles, e.Name()) || !e.Type().IsRegular() {
			odd = append(odd, e.Name())
		}
	}
	var sum struct {
		Dates Dates `json:"dates"`
	}
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	isReport := err == nil && json.Unmarshal(b, &sum) == nil && sum.Dates.From != ""
	if len(entries) > 0 && (!isReport || len(odd) > 0) {
		if len(odd) == 0 {
			odd = []string{SummaryFile}
		}
		if len(odd) > 3 {
			odd = append(odd[:3], fmt.Sprintf("%d more", len(odd)-3))
		}
		return fmt.Errorf("%s holds %s, which is not part of an assign report: a new report replaces the whole folder, so move that away or write the report elsewhere", dir, strings.Join(odd, ", "))
	}
	return nil
}
