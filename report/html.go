package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// ChartIDs are the charts every report holds, in page order; each is an
// <svg data-chart="ID"> the browser test looks for.
var ChartIDs = []string{"demand-vs-stock", "top-shortages", "shortage-by-category", "category-mix", "box-fill", "trend"}

type chartSection struct {
	ID, Title, Caption string
	SVG                template.HTML
}

type page struct {
	S      *Summary
	Charts []chartSection
	Top    int
}

func renderHTML(sum *Summary, snacks []SnackRow) ([]byte, error) {
	p := page{S: sum, Charts: charts(sum), Top: len(sum.TopShortages)}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render report.html: %w", err)
	}
	return buf.Bytes(), nil
}

// snackLabel is "name (category)" cut to fit the label column: the name is
// shortened first so the category always shows.
func snackLabel(s SnackRow) string {
	cat := " (" + truncate(s.Category, 14) + ")"
	return truncate(s.Name, labelChars-len([]rune(cat))) + cat
}

func charts(sum *Summary) []chartSection {
	var out []chartSection
	first := sum.Dates.From

	// Demand vs stock for the snacks most in demand.
	{
		c := barChart{ID: "demand-vs-stock", Label: "Demand and usable stock per snack", Empty: "No box needs any snack in this horizon."}
		d := series{Name: "Demand over the horizon", Color: colDemand}
		st := series{Name: "Usable stock on " + first, Color: colStock}
		for _, s := range sum.TopDemand {
			c.Labels = append(c.Labels, snackLabel(s))
			d.Values = append(d.Values, s.Demand)
			st.Values = append(st.Values, s.StockUsable)
			note := "covered"
			if s.Shortage > 0 {
				note = "short " + thousands(s.Shortage)
			}
			c.Notes = append(c.Notes, note)
		}
		c.Series = []series{d, st}
		out = append(out, chartSection{ID: c.ID, Title: fmt.Sprintf("Demand vs usable stock: the %d snacks most in demand", len(sum.TopDemand)),
			Caption: "Units the boxes of the horizon need, beside the units of lots usable on the first date (best before at least min_shelf_days later). Lots that expire during the horizon cover only the earlier dates.", SVG: c.SVG()})
	}
	// Snacks most short.
	{
		c := barChart{ID: "top-shortages", Label: "Snacks with the largest shortage", Empty: "No snack is short over the horizon: every unit of demand is covered."}
		s := series{Name: "Shortage units", Color: colShortage}
		for _, r := range sum.TopShortages {
			c.Labels = append(c.Labels, snackLabel(r))
			s.Values = append(s.Values, r.Shortage)
			c.Notes = append(c.Notes, fmt.Sprintf("%.1f%% of demand", pct(r.Shortage, r.Demand)))
		}
		c.Series = []series{s}
		out = append(out, chartSection{ID: c.ID, Title: fmt.Sprintf("Shortages: the %d snacks short the most", len(sum.TopShortages)),
			Caption: "Units of demand the lots cannot cover, first-expiry-first-out, date by date. These are the snacks to secure before the horizon starts.", SVG: c.SVG()})
	}
	// Shortage by category.
	{
		c := barChart{ID: "shortage-by-category", Label: "Demand and shortage per category", Empty: "No category is short."}
		d := series{Name: "Demand", Color: colDemand}
		s := series{Name: "Shortage", Color: colShortage}
		for _, r := range sum.Categories {
			c.Labels = append(c.Labels, r.Category)
			d.Values = append(d.Values, r.Demand)
			s.Values = append(s.Values, r.Shortage)
			c.Notes = append(c.Notes, fmt.Sprintf("%.1f%% short", r.ShortagePct))
		}
		c.Series = []series{d, s}
		out = append(out, chartSection{ID: c.ID, Title: "Shortage by category",
			Caption: "Demand and shortage units per snack category, the category short the most first.", SVG: c.SVG()})
	}
	// Category mix of the boxes.
	{
		cats := append([]CategoryRow(nil), sum.Categories...)
		sortCategoriesByDemand(cats)
		c := barChart{ID: "category-mix", Label: "Category mix of the boxes", Empty: "The horizon has no box lines."}
		s := series{Name: "Box lines", Color: colMix}
		for _, r := range cats {
			c.Labels = append(c.Labels, r.Category)
			s.Values = append(s.Values, r.Demand)
			c.Notes = append(c.Notes, fmt.Sprintf("%.1f%%", r.MixPct))
		}
		c.Series = []series{s}
		out = append(out, chartSection{ID: c.ID, Title: "Category mix of the boxes",
			Caption: fmt.Sprintf("Box lines per category over the horizon and their share of all lines (the policy allows at most %d snacks of one category per box in the capped pass).", sum.Policy.MaxPerCategory), SVG: c.SVG()})
	}
	// Box fill and short boxes per date.
	{
		c := barChart{ID: "box-fill", Label: "Full and short boxes per ship date", Vertical: true, Stacked: true, Empty: "No user ships in this horizon."}
		full := series{Name: "Full boxes", Color: colFull}
		shortB := series{Name: "Short boxes", Color: colShort}
		for _, d := range sum.PerDate {
			c.Labels = append(c.Labels, d.ShipOn[5:])
			full.Values = append(full.Values, d.Users-d.ShortBoxes)
			shortB.Values = append(shortB.Values, d.ShortBoxes)
			if len(sum.PerDate) <= 16 {
				c.Notes = append(c.Notes, fmt.Sprintf("%.1f%%", d.FillPct))
			}
		}
		c.Series = []series{full, shortB}
		caption := "Boxes per ship date (month-day), split into full boxes and short boxes (fewer snacks than box_size, because too few snacks are eligible). "
		if len(sum.PerDate) <= 16 {
			caption += "The figure above each column is the box fill: lines filled out of lines wanted."
		} else {
			caption += "The fill per date is in the table below."
		}
		out = append(out, chartSection{ID: c.ID, Title: "Box fill and short boxes per ship date", Caption: caption, SVG: c.SVG()})
	}
	// Trend against earlier reports of the same folder.
	{
		c := barChart{ID: "trend", Label: "Demand and shortage per report", Vertical: true, Empty: "No demand in this or earlier reports."}
		d := series{Name: "Demand units", Color: colDemand}
		s := series{Name: "Shortage units", Color: colShortage}
		for _, p := range sum.Previous {
			c.Labels = append(c.Labels, fmt.Sprintf("%s (%dd)", p.From, p.Days))
			d.Values = append(d.Values, p.Demand)
			s.Values = append(s.Values, p.Shortage)
			c.Notes = append(c.Notes, fmt.Sprintf("%.1f%% short", p.ShortagePct))
		}
		c.Labels = append(c.Labels, fmt.Sprintf("%s (%dd) this", sum.Dates.From, sum.Dates.Days))
		d.Values = append(d.Values, sum.Totals.Demand)
		s.Values = append(s.Values, sum.Totals.Shortage)
		c.Notes = append(c.Notes, fmt.Sprintf("%.1f%% short", sum.Totals.ShortagePct))
		c.Series = []series{d, s}
		caption := "Total demand and shortage of this report beside the earlier reports in the same folder (first date and horizon in days)."
		if len(sum.Previous) == 0 {
			caption += " This folder holds no earlier report yet, so only this one is shown."
		}
		out = append(out, chartSection{ID: c.ID, Title: "Trend against earlier reports", Caption: caption, SVG: c.SVG()})
	}
	return out
}

func sortCategoriesByDemand(c []CategoryRow) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && (c[j].Demand > c[j-1].Demand || c[j].Demand == c[j-1].Demand && c[j].Category < c[j-1].Category); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"n":   thousands,
	"pct": func(v float64) string { return fmt.Sprintf("%.1f%%", v) },
	"title": func(s *Summary) string {
		return fmt.Sprintf("Snack demand report, %s to %s", s.Dates.From, s.Dates.To)
	},
	"upper": strings.ToUpper,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title .S}}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222; background: #fafafa; margin: 0; }
  main { max-width: 1160px; margin: 0 auto; padding: 24px 24px 48px; }
  h1 { font-size: 28px; margin: 8px 0 4px; }
  h2 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #555; margin: 0 0 20px; }
  .alert { background: #fdecea; border-left: 5px solid #e45756; padding: 12px 16px; margin: 0 0 20px; font-size: 16px; }
  .ok { background: #edf7ed; border-left: 5px solid #54a24b; padding: 12px 16px; margin: 0 0 20px; font-size: 16px; }
  .kpis { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin-bottom: 24px; }
  .kpi { background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 12px 14px; }
  .kpi .v { font-size: 24px; font-weight: 650; }
  .kpi .l { color: #555; font-size: 13px; }
  section { background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 18px 20px; margin-bottom: 20px; }
  section p.cap { color: #555; margin: 0 0 12px; font-size: 14px; }
  svg.chart { display: block; width: 100%; height: auto; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { padding: 5px 8px; border-bottom: 1px solid #eee; text-align: left; }
  th { background: #f3f3f3; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  footer { color: #666; font-size: 13px; }
  code { font-size: 13px; }
</style>
</head>
<body>
<main>
<h1>{{title .S}}</h1>
<p class="sub">Demand forecast (preassign) over {{.S.Dates.Days}} days on snapshot <code>{{.S.Snapshot}}</code>, run <code>{{.S.RunID}}</code>{{if .S.RunReused}} (reused){{end}}. Generated {{.S.GeneratedAt}}.</p>
{{with .S.WorstSnack}}<p class="alert"><strong>{{n $.S.Totals.Shortage}} units short</strong> ({{pct $.S.Totals.ShortagePct}} of demand) across {{$.S.Totals.SnacksShort}} snacks. Most short: <strong>{{.Name}}</strong> ({{.Category}}, snack {{.SnackID}}), {{n .Shortage}} of {{n .Demand}} units.</p>
{{else}}<p class="ok">Every unit of demand is covered by usable stock over the horizon.</p>{{end}}
<div class="kpis">
  <div class="kpi"><div class="v">{{n .S.Totals.Users}}</div><div class="l">boxes to ship (user-dates)</div></div>
  <div class="kpi"><div class="v">{{n .S.Totals.Demand}}</div><div class="l">units of demand</div></div>
  <div class="kpi"><div class="v">{{n .S.Totals.StockUsable}}</div><div class="l">units usable on {{.S.Dates.From}}</div></div>
  <div class="kpi"><div class="v">{{n .S.Totals.Shortage}}</div><div class="l">units short ({{pct .S.Totals.ShortagePct}})</div></div>
  <div class="kpi"><div class="v">{{n .S.Totals.ShortBoxes}}</div><div class="l">short boxes</div></div>
  <div class="kpi"><div class="v">{{if .S.Totals.Users}}{{pct .S.Totals.FillPct}}{{else}}n/a{{end}}</div><div class="l">box fill</div></div>
</div>
{{range .Charts}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
<p class="cap">{{.Caption}}</p>
{{.SVG}}
</section>
{{end}}
<section id="table-shortages">
<h2>Snacks short over the horizon</h2>
{{if .S.TopShortages}}<table>
<tr><th>snack</th><th>name</th><th>category</th><th class="num">demand</th><th class="num">usable on {{.S.Dates.From}}</th><th class="num">covered</th><th class="num">shortage</th></tr>
{{range .S.TopShortages}}<tr><td>{{.SnackID}}</td><td>{{.Name}}</td><td>{{.Category}}</td><td class="num">{{n .Demand}}</td><td class="num">{{n .StockUsable}}</td><td class="num">{{n .Covered}}</td><td class="num">{{n .Shortage}}</td></tr>
{{end}}</table>
<p class="cap">The {{.Top}} snacks short the most; snacks.csv lists every snack.</p>{{else}}<p>None.</p>{{end}}
</section>
<section id="table-categories">
<h2>Categories</h2>
<table>
<tr><th>category</th><th class="num">snacks</th><th class="num">short</th><th class="num">demand</th><th class="num">mix</th><th class="num">shortage</th><th class="num">short %</th><th>most short</th></tr>
{{range .S.Categories}}<tr><td>{{.Category}}</td><td class="num">{{.Snacks}}</td><td class="num">{{.SnacksShort}}</td><td class="num">{{n .Demand}}</td><td class="num">{{pct .MixPct}}</td><td class="num">{{n .Shortage}}</td><td class="num">{{pct .ShortagePct}}</td><td>{{if .WorstSnack}}{{.WorstSnack}} ({{n .WorstShortage}}){{end}}</td></tr>
{{end}}</table>
</section>
<section id="table-dates">
<h2>Ship dates</h2>
<table>
<tr><th>ship date</th><th class="num">users</th><th class="num">boxes</th><th class="num">short boxes</th><th class="num">box fill</th><th class="num">demand</th><th class="num">covered</th><th class="num">shortage</th></tr>
{{range .S.PerDate}}<tr><td>{{.ShipOn}}</td><td class="num">{{n .Users}}</td><td class="num">{{n .Boxes}}</td><td class="num">{{n .ShortBoxes}}</td><td class="num">{{pct .FillPct}}</td><td class="num">{{n .Demand}}</td><td class="num">{{n .Covered}}</td><td class="num">{{n .Shortage}}</td></tr>
{{end}}</table>
</section>
<footer>
<p>Policy: max {{.S.Policy.MaxPerCategory}} per category, repeat window {{.S.Policy.RepeatWindowDays}} days, never again at rating {{.S.Policy.NeverAgainRating}} or below, min shelf {{.S.Policy.MinShelfDays}} days. Files beside this page: summary.json, snacks.csv, categories.csv, dates.csv. The run's tables are in <code>{{.S.RunDir}}</code> and queryable with <code>assign query --run {{.S.RunID}}</code>. assign {{.S.Version}}.</p>
</footer>
</main>
</body>
</html>
`))
