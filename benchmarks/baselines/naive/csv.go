package naive

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Table file names and headers of SPEC section 5, in column order.
var (
	BoxesHeader        = []string{"ship_on", "user_id", "position", "snack_id", "lot_id", "score", "requested"}
	DemandHeader       = []string{"ship_on", "snack_id", "demand", "covered", "shortage"}
	SnackSummaryHeader = []string{"snack_id", "demand", "stock_usable", "covered", "shortage"}
	ShortBoxesHeader   = []string{"ship_on", "user_id", "box_size", "filled"}
)

// FormatFloat is the CSV form of a DOUBLE: the shortest string that reads
// back to the same float64.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// WriteCSV writes boxes.csv, demand.csv, snack_summary.csv and
// short_boxes.csv into dir (created if missing) in the SPEC section 5 CSV
// form: one header row, dates YYYY-MM-DD, booleans true/false, NULL as an
// empty field, floats in shortest round-trip form, rows in SPEC order.
func (res *Result) WriteCSV(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output folder %s: %w", dir, err)
	}
	var boxes [][]string
	for _, b := range res.Boxes {
		lot := ""
		if b.LotID.Valid {
			lot = b.LotID.String
		}
		boxes = append(boxes, []string{b.ShipOn.String(), i64(b.UserID), strconv.Itoa(b.Position), i64(b.SnackID), lot, FormatFloat(b.Score), strconv.FormatBool(b.Requested)})
	}
	var demand [][]string
	for _, d := range res.Demand {
		demand = append(demand, []string{d.ShipOn.String(), i64(d.SnackID), strconv.Itoa(d.Demand), strconv.Itoa(d.Covered), strconv.Itoa(d.Shortage)})
	}
	var summary [][]string
	for _, s := range res.SnackSummary {
		summary = append(summary, []string{i64(s.SnackID), strconv.Itoa(s.Demand), strconv.Itoa(s.StockUsable), strconv.Itoa(s.Covered), strconv.Itoa(s.Shortage)})
	}
	var short [][]string
	for _, s := range res.ShortBoxes {
		short = append(short, []string{s.ShipOn.String(), i64(s.UserID), strconv.Itoa(s.BoxSize), strconv.Itoa(s.Filled)})
	}
	for _, t := range []struct {
		name   string
		header []string
		rows   [][]string
	}{
		{"boxes.csv", BoxesHeader, boxes},
		{"demand.csv", DemandHeader, demand},
		{"snack_summary.csv", SnackSummaryHeader, summary},
		{"short_boxes.csv", ShortBoxesHeader, short},
	} {
		if err := writeCSVFile(filepath.Join(dir, t.name), t.header, t.rows); err != nil {
			return err
		}
	}
	return nil
}

func writeCSVFile(path string, header []string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	w := csv.NewWriter(f)
	w.Write(header)
	w.WriteAll(rows) // flushes
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
