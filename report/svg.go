package report

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Colours: a palette that stays distinct for colour-blind readers.
const (
	colDemand   = "#4c78a8"
	colStock    = "#72b7b2"
	colShortage = "#e45756"
	colFull     = "#4c78a8"
	colShort    = "#f58518"
	colMix      = "#54a24b"
	colText     = "#222"
	colMuted    = "#666"
	colGrid     = "#e3e3e3"
	chartWidth  = 1100
	// labelChars is the most characters a row label may have: 12 px text
	// averages under 7 px a character, and the label column is 320 px.
	labelChars = 44
	fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
)

// series is one set of bars of a chart.
type series struct {
	Name   string
	Color  string
	Values []int64
}

// barChart is a bar chart drawn as static SVG: horizontal bars (one row
// per label, series side by side) or vertical columns (series side by
// side, or stacked). Marks carry class="mark" so tests and readers can
// find them; an empty chart says why instead of drawing nothing.
type barChart struct {
	ID       string
	Label    string // accessible name
	Labels   []string
	Series   []series
	Vertical bool
	Stacked  bool
	// Notes, when set, are drawn after each row (horizontal) or above each
	// column (vertical), e.g. a percentage.
	Notes []string
	// Empty is the message drawn when there is nothing to plot.
	Empty string
}

func (c barChart) hasData() bool {
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v > 0 {
				return true
			}
		}
	}
	return false
}

// SVG renders the chart.
func (c barChart) SVG() template.HTML {
	var b strings.Builder
	if !c.hasData() {
		fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" data-empty="true" viewBox="0 0 %d 70" width="%d" height="70" role="img" aria-label="%s" font-family="%s">`,
			c.ID, chartWidth, chartWidth, esc(c.Label), fontFamily)
		fmt.Fprintf(&b, `<rect x="0.5" y="0.5" width="%d" height="69" rx="6" fill="#f6f8f6" stroke="#cfe3cf"/>`, chartWidth-1)
		fmt.Fprintf(&b, `<text class="empty" x="20" y="41" font-size="16" fill="%s">%s</text></svg>`, colText, esc(c.Empty))
		return template.HTML(b.String())
	}
	if c.Vertical {
		c.vertical(&b)
	} else {
		c.horizontal(&b)
	}
	return template.HTML(b.String())
}

func (c barChart) legend(b *strings.Builder, x, y int) {
	for _, s := range c.Series {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="14" height="14" rx="2" fill="%s"/>`, x, y-11, s.Color)
		fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" fill="%s">%s</text>`, x+20, y, colText, esc(s.Name))
		x += 40 + 8*len(s.Name)
	}
}

func (c barChart) max() int64 {
	var m int64
	for i := range c.Labels {
		var stack int64
		for _, s := range c.Series {
			v := s.Values[i]
			if c.Stacked {
				stack += v
			} else if v > m {
				m = v
			}
		}
		if stack > m {
			m = stack
		}
	}
	return m
}

func (c barChart) horizontal(b *strings.Builder) {
	const labelW, left, top, axisH = 320, 332, 40, 34
	// Room right of the longest bar for its value, and for the notes column.
	rightPad := 70
	if len(c.Notes) > 0 {
		rightPad += 150
	}
	barH, gap := 18, 10
	if len(c.Series) > 1 {
		barH, gap = 13, 12
	}
	groupH := barH*len(c.Series) + gap
	plotW := chartWidth - left - rightPad
	h := top + groupH*len(c.Labels) + axisH
	step, maxV := niceScale(c.max())
	scale := float64(plotW) / float64(maxV)
	fmt.Fprintf(b, `<svg class="chart" data-chart="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="%s">`,
		c.ID, chartWidth, h, chartWidth, h, esc(c.Label), fontFamily)
	c.legend(b, left, 20)
	plotBottom := top + groupH*len(c.Labels)
	for v := int64(0); v <= maxV; v += step {
		x := float64(left) + float64(v)*scale
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, x, top-6, x, plotBottom, colGrid)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="12" fill="%s" text-anchor="middle">%s</text>`, x, plotBottom+18, colMuted, thousands(v))
	}
	for i, label := range c.Labels {
		y0 := top + i*groupH
		mid := y0 + barH*len(c.Series)/2 + 4 // text baseline level with the middle of the bars
		fmt.Fprintf(b, `<text x="%d" y="%d" font-size="12" fill="%s" text-anchor="end">%s</text>`,
			labelW, mid, colText, esc(truncate(label, labelChars)))
		for k, s := range c.Series {
			v := s.Values[i]
			w := float64(v) * scale
			y := y0 + k*barH
			fmt.Fprintf(b, `<rect class="mark" x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s %s</title></rect>`,
				left, y, w, barH-2, s.Color, esc(label), esc(s.Name), thousands(v))
			fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11" fill="%s">%s</text>`, float64(left)+w+4, y+barH-4, colMuted, thousands(v))
		}
		if i < len(c.Notes) && c.Notes[i] != "" {
			fmt.Fprintf(b, `<text x="%d" y="%d" font-size="12" font-weight="600" fill="%s" text-anchor="end">%s</text>`,
				chartWidth-6, mid, colText, esc(c.Notes[i]))
		}
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, top-6, left, plotBottom)
	b.WriteString(`</svg>`)
}

func (c barChart) vertical(b *strings.Builder) {
	const left, top, bottom, right, plotH = 70, 44, 52, 20, 260
	h := top + plotH + bottom
	plotW := chartWidth - left - right
	n := len(c.Labels)
	slot := float64(plotW) / float64(n)
	groups := len(c.Series)
	if c.Stacked {
		groups = 1
	}
	barW := math.Min(slot*0.75/float64(groups), 60)
	step, maxV := niceScale(c.max())
	scale := float64(plotH) / float64(maxV)
	fmt.Fprintf(b, `<svg class="chart" data-chart="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="%s">`,
		c.ID, chartWidth, h, chartWidth, h, esc(c.Label), fontFamily)
	c.legend(b, left, 20)
	base := top + plotH
	for v := int64(0); v <= maxV; v += step {
		y := float64(base) - float64(v)*scale
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, left, y, chartWidth-right, y, colGrid)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="12" fill="%s" text-anchor="end">%s</text>`, left-6, y+4, colMuted, thousands(v))
	}
	labelEvery := int(math.Ceil(40 / slot)) // keep axis labels at least 40 px apart
	for i, label := range c.Labels {
		cx := float64(left) + slot*(float64(i)+0.5)
		x := cx - barW*float64(groups)/2
		top := float64(base)
		for _, s := range c.Series {
			v := s.Values[i]
			hgt := float64(v) * scale
			var y float64
			if c.Stacked {
				y = top - hgt
				top = y
			} else {
				y = float64(base) - hgt
				top = math.Min(top, y)
			}
			fmt.Fprintf(b, `<rect class="mark" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s %s</title></rect>`,
				x, y, barW, hgt, s.Color, esc(label), esc(s.Name), thousands(v))
			if !c.Stacked {
				if groups*int(barW) >= 36 || slot >= 70 {
					fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" fill="%s" text-anchor="middle">%s</text>`, x+barW/2, y-4, colMuted, short(v))
				}
				x += barW
			}
		}
		if i%labelEvery == 0 {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="12" fill="%s" text-anchor="middle">%s</text>`, cx, base+18, colText, esc(label))
		}
		if i < len(c.Notes) && c.Notes[i] != "" {
			// Stacked columns carry their note on top; side-by-side ones
			// already show values there, so the note goes under the label.
			if c.Stacked {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" fill="%s" text-anchor="middle">%s</text>`, cx, top-5, colText, esc(c.Notes[i]))
			} else {
				fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="12" font-weight="600" fill="%s" text-anchor="middle">%s</text>`, cx, base+36, colText, esc(c.Notes[i]))
			}
		}
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, base, chartWidth-right, base)
	b.WriteString(`</svg>`)
}

// niceScale returns a tick step of 1, 2 or 5 times a power of ten giving at
// most about six ticks, and the axis maximum (a multiple of step >= max).
func niceScale(max int64) (step, top int64) {
	if max <= 0 {
		return 1, 1
	}
	raw := float64(max) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = int64(math.Max(1, m*mag))
			break
		}
	}
	top = (max + step - 1) / step * step
	return step, top
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// thousands formats 1234567 as 1,234,567.
func thousands(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// short formats a count compactly for labels over narrow columns.
func short(v int64) string {
	switch {
	case v >= 10_000_000:
		return fmt.Sprintf("%.0fM", float64(v)/1e6)
	case v >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(v)/1e6)
	case v >= 10_000:
		return fmt.Sprintf("%.0fk", float64(v)/1e3)
	case v >= 1_000:
		return fmt.Sprintf("%.1fk", float64(v)/1e3)
	}
	return strconv.FormatInt(v, 10)
}
