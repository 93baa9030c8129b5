package analytics

import (
	"reflect"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{"SELECT 1;", []string{"SELECT 1"}},
		{"  SELECT 1 ; SELECT 2;; ", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT 'a;b'; SELECT 2", []string{"SELECT 'a;b'", "SELECT 2"}},
		{"SELECT 'it''s; here'", []string{"SELECT 'it''s; here'"}},
		{`SELECT 1 AS "x;y"`, []string{`SELECT 1 AS "x;y"`}},
		{"SELECT 1 -- a; comment\n; SELECT 2", []string{"SELECT 1 -- a; comment", "SELECT 2"}},
		{"/* ; */ SELECT 1", []string{"/* ; */ SELECT 1"}},
		{"-- only a comment;\n", nil},
		{"SELECT $$a;b$$, $t$;$t$", []string{"SELECT $$a;b$$, $t$;$t$"}},
		{"SELECT $1; SELECT 2", []string{"SELECT $1", "SELECT 2"}},
	}
	for _, c := range cases {
		got, err := SplitStatements(c.in)
		if err != nil {
			t.Errorf("SplitStatements(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitStatements(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"SELECT 'x", `SELECT "x`, "SELECT /* x", "SELECT $$x"} {
		if _, err := SplitStatements(bad); err == nil {
			t.Errorf("SplitStatements(%q): want an error", bad)
		}
	}
}

func TestFirstKeyword(t *testing.T) {
	for in, want := range map[string]string{
		"  copy t TO 'x'":        "COPY",
		"-- c\n/* d */ ATTACH x": "ATTACH",
		"(SELECT 1)":             "SELECT",
		"":                       "",
	} {
		if got := firstKeyword(in); got != want {
			t.Errorf("firstKeyword(%q) = %q, want %q", in, got, want)
		}
	}
}
