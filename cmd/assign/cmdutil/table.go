package cmdutil

import (
	"io"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/assign-dev/assign/internal/termsafe"
)

// PrintTable writes an aligned table with a header row. Columns whose
// header is in rightAlign are right-aligned (numbers). Text cells are
// escaped (termsafe.Escape): a snack name from an extract cannot recolour or
// rewrite the terminal.
func PrintTable(w io.Writer, header []string, rows [][]any, rightAlign ...string) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.Style().Options.DrawBorder = false
	t.Style().Options.SeparateColumns = true
	t.Style().Format.Header = text.FormatDefault
	hr := table.Row{}
	for _, h := range header {
		hr = append(hr, h)
	}
	t.AppendHeader(hr)
	var cfg []table.ColumnConfig
	for _, h := range rightAlign {
		cfg = append(cfg, table.ColumnConfig{Name: h, Align: text.AlignRight, AlignHeader: text.AlignRight})
	}
	t.SetColumnConfigs(cfg)
	for _, r := range rows {
		row := make(table.Row, len(r))
		for i, c := range r {
			if s, ok := c.(string); ok {
				c = termsafe.Escape(s)
			}
			row[i] = c
		}
		t.AppendRow(row)
	}
	t.Render()
}
