package loaders

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Every message that shows something read from an extract (a value, a
// column name, a JSON key, a file name, a reader's error text) shows it
// through echo, echoName or sanitize, so that a NUL byte, a line break, an
// ANSI escape or a byte that is not UTF-8 never reaches the terminal raw and
// a 100 KB value never fills it: one line per message, always.

// maxShown bounds a value in a one-line message (in characters); the reject
// file has it whole.
const maxShown = 80

// maxMessage bounds a whole message built from reader text (in characters).
const maxMessage = 400

// echo shows a value from the extract: quoted in Go syntax, cut after
// maxShown characters ("..." inside the quotes marks the cut).
func echo(s string) string {
	if cut, ok := cutRunes(s, maxShown); ok {
		s = cut + "..."
	}
	return strconv.Quote(s)
}

// echoName shows a name from the extract (a column, a key): bare when it is
// a plain identifier, as most are, else quoted as echo does.
func echoName(s string) string {
	if len(s) > 0 && len(s) <= maxShown && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)))
	}) < 0 {
		return s
	}
	return echo(s)
}

// echoNames shows up to limit names, then how many more there are.
func echoNames(names []string, limit int) string {
	var b strings.Builder
	for i, n := range names {
		if i == limit {
			fmt.Fprintf(&b, " and %d more", len(names)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(echoName(n))
	}
	return b.String()
}

// sanitize makes text one printable line without quoting it: characters
// that are not printable and bytes that are not UTF-8 become Go escapes, and
// the text is cut after limit characters.
func sanitize(s string, limit int) string {
	cut, over := cutRunes(s, limit)
	clean := true
	for i := 0; i < len(cut); {
		r, n := utf8.DecodeRuneInString(cut[i:])
		if (r == utf8.RuneError && n == 1) || !unicode.IsPrint(r) {
			clean = false
			break
		}
		i += n
	}
	if clean && !over {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(cut); {
		r, n := utf8.DecodeRuneInString(cut[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, cut[i])
		case unicode.IsPrint(r):
			b.WriteString(cut[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	if over {
		b.WriteString("...")
	}
	return b.String()
}

// cutRunes returns s cut after n characters (counting each byte that is not
// UTF-8 as one) and whether anything was cut.
func cutRunes(s string, n int) (string, bool) {
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return s, false
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	if i >= len(s) {
		return s, false
	}
	return s[:i], true
}
