package loaders

import (
	"strings"
	"testing"
)

// TestEcho checks that whatever a value, name or file name holds, messages
// stay one printable line of bounded length.
func TestEcho(t *testing.T) {
	long := strings.Repeat("é", 100)
	cases := []struct{ got, want string }{
		{echo("plain"), `"plain"`},
		{echo("na\x00me"), `"na\x00me"`},
		{echo("\x1b[31mred\x1b[0m"), `"\x1b[31mred\x1b[0m"`},
		{echo("line\nbreak"), `"line\nbreak"`},
		{echo("\xff\xfe"), `"\xff\xfe"`},
		{echo(long), `"` + strings.Repeat("é", maxShown) + `..."`},
		{echo(strings.Repeat("\x00", 100_000)), `"` + strings.Repeat(`\x00`, maxShown) + `..."`},
		{echoName("snack_id"), "snack_id"},
		{echoName("Snack ID"), `"Snack ID"`},
		{echoName("na\x00me"), `"na\x00me"`},
		{echoNames([]string{"a", "b\x00", "c"}, 2), `a, "b\x00" and 1 more`},
		{sanitize("ok text", 10), "ok text"},
		{sanitize("a\nb\x1bc\xff", 10), `a\nb\x1bc\xff`},
		{sanitize(strings.Repeat("x", 20), 10), strings.Repeat("x", 10) + "..."},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: %s, want %s", i, c.got, c.want)
		}
	}
	fe := &FileError{File: "we\nird.csv", Line: 2, Msg: "cannot read \x00" + strings.Repeat("y", 1000)}
	if msg := fe.Error(); strings.ContainsAny(msg, "\n\x00") || len(msg) > maxShown+maxMessage+40 {
		t.Errorf("file error %q", msg)
	}
	v := Violation{File: "a\x1b.csv", Line: 3, Column: "name", Value: "\x1b]0;title\x07", Rule: "name non-empty"}
	if got, want := v.String(), `a\x1b.csv line 3, column name: value "\x1b]0;title\a" breaks rule name non-empty`; got != want {
		t.Errorf("violation %s, want %s", got, want)
	}
}
