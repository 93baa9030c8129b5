package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--runs", "0"}, "--runs 0 is out of range"},
		{[]string{"--scales", "small,huge"}, `unknown scale "huge"`},
		{[]string{"--ops", "preassign,explain"}, `unknown operation "explain"`},
		{[]string{"--threads", "-1"}, "threads"},
		{[]string{"--days", "0"}, "days"},
		{[]string{"--policy-flags", "-x 3"}, "long form"},
		{[]string{"--quiet-idle", "1.5"}, "--quiet-idle 1.5 is out of range"},
		{[]string{"--assign", "/no/such/assign"}, "no such binary"},
		{[]string{"extra"}, "unknown command"},
	} {
		var out, errb bytes.Buffer
		code := Main(c.args, &out, &errb)
		if code != 2 && !(c.args[0] == "extra" && code != 0) {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: stderr %q does not mention %q", c.args, errb.String(), c.want)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"--quiet-idle", "--large", "--no-baselines", "Examples:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
