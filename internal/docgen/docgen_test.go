package docgen

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// docs are the files whose examples must run, in the order `make docs`
// runs them (the README's `assign demo` makes the home the others use).
var docs = []string{"../../README.md", "../../docs/ANALYSTS.md"}

// TestDocExamplesRun runs every generated example of the README and
// docs/ANALYSTS.md, in order, against a demo home made by the README's own
// `assign demo`, and fails when a command no longer runs or exits with
// another code than the page shows. `make docs` refreshes their output.
func TestDocExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("generates, loads and plans the demo extract")
	}
	var parsed []*Doc
	for _, p := range docs {
		d, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Blocks) == 0 {
			t.Fatalf("%s has no generated example (%s before a code block)", p, Marker)
		}
		parsed = append(parsed, d)
	}
	t.Chdir(t.TempDir())
	t.Setenv("ASSIGN_HOME", "")
	for _, d := range parsed {
		for _, p := range d.Check(context.Background()) {
			t.Error(p)
		}
	}
}

// TestDocInvocationsParse checks every other `assign ...` line of the docs
// (synopses, examples needing a database or a cluster) against the command
// tree: each names a command and flags that exist.
func TestDocInvocationsParse(t *testing.T) {
	n := 0
	for _, p := range docs {
		d, err := ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range d.Invocations() {
			n++
			if err := CheckInvocation(inv.Args); err != nil {
				t.Errorf("%s:%d: %v", filepath.Base(inv.Path), inv.Line, err)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d assign lines in the docs' code blocks", n)
	}
}

func TestCheckInvocationCatchesMistakes(t *testing.T) {
	for _, args := range [][]string{
		{"assign", "preassign", "--dayz", "3"},
		{"assign", "frobnicate"},
		{"assign", "--homme", "/x", "demo"},
		{"assign", "snapshots", "rmm", "x"},
	} {
		if err := CheckInvocation(args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	for _, args := range [][]string{
		{"assign", "preassign", "--date", "2026-03-02", "[--threads", "N]"},
		{"assign", "snapshots", "gc", "--keep", "7", "--home", "x"},
		{"assign", "shards", "--local", "16", "--", "preassign", "--nonsense"},
		{"assign", "--home", "/x", "snapshots", "use", "snap-1"},
	} {
		if err := CheckInvocation(args); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestSplit(t *testing.T) {
	for in, want := range map[string][]string{
		`assign query "FROM x" --max-rows 3`:                   {"assign", "query", "FROM x", "--max-rows", "3"},
		`a 'it''s' "say \"hi\" \$x" b\ c`:                      {"a", "its", `say "hi" $x`, "b c"},
		"assign query \"SELECT 1\nFROM t\"":                    {"assign", "query", "SELECT 1\nFROM t"},
		`echo $?`:                                              {"echo", "$?"},
		"assign report \\\n  --days 3":                         {"assign", "report", "--days", "3"},
		`assign query "SELECT * FROM read_csv('/etc/passwd')"`: {"assign", "query", "SELECT * FROM read_csv('/etc/passwd')"},
	} {
		got, err := Split(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Split(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Split(`assign query "open`); err == nil {
		t.Error("an unclosed quote is not an error")
	}
}

const sample = "# t\n\n<!-- make docs -->\n```console\n$ assign query \"SELECT 1\nAS x\"\nold output\n$ echo $?\n0\n```\n\ntext\n```sh\nassign demo --days 3\n```\n"

func TestParseRender(t *testing.T) {
	d, err := Parse("x.md", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Blocks) != 1 || len(d.Blocks[0].Commands) != 2 {
		t.Fatalf("blocks %+v", d.Blocks)
	}
	c := d.Blocks[0].Commands[0]
	if c.Text != "assign query \"SELECT 1\nAS x\"" || c.Output != "old output\n" || c.Line != 5 {
		t.Fatalf("command %+v", c)
	}
	if got := string(d.Render()); got != sample {
		t.Fatalf("render without changes:\n%s\nwant\n%s", got, sample)
	}
	d.Blocks[0].Commands[0].Output = "new\nlines\n"
	if got := string(d.Render()); !strings.Contains(got, "AS x\"\nnew\nlines\n$ echo $?\n0\n```") {
		t.Fatalf("render:\n%s", got)
	}
	inv := d.Invocations()
	if len(inv) != 1 || inv[0].Line != 14 || !reflect.DeepEqual(inv[0].Args, []string{"assign", "demo", "--days", "3"}) {
		t.Fatalf("invocations %+v", inv)
	}
	for _, bad := range []string{
		"<!-- make docs -->\ntext\n",
		"<!-- make docs -->\n```\nno command\n```\n",
		"<!-- make docs -->\n```\n$ rm -rf /\n```\n",
		"<!-- make docs -->\n```\n$ echo $?\n```\n",
		"<!-- make docs -->\n```\n$ assign demo\n",
	} {
		if _, err := Parse("bad.md", []byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}
