package cmdutil

import (
	"strings"
	"testing"
)

// A snack name from an extract holding an ANSI escape (or an OSC title
// sequence) is shown escaped in every command's table (explain, preassign's
// top snacks), not acted on by the terminal.
func TestPrintTableEscapesControlCharacters(t *testing.T) {
	var b strings.Builder
	PrintTable(&b, []string{"snack", "name"}, [][]any{{1240, "Shortbread\x1b[31mRED\x1b]0;title\x07"}}, "snack")
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `Shortbread\x1b[31mRED\x1b]0;title\x07`) {
		t.Errorf("table:\n%q", out)
	}
}
