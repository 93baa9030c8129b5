// Package docgen keeps the examples in the README and docs/ANALYSTS.md true:
// it finds the code blocks marked as generated, runs their commands against
// a demo home with today's build (in-process, through the same Main as the
// binary) and writes each command's real output under it. `make docs` runs
// it; a test runs the same commands and fails when one no longer runs.
//
// A generated block is a fenced block right after the line
//
//	<!-- make docs -->
//
// or "<!-- make docs lines=N -->", which keeps the first N lines of each
// command's output and marks the cut with "...".
// Its lines starting with "$ " are commands: `assign ...` (quoted arguments
// may span lines, as in a shell) or `echo $?`, which prints the exit code of
// the command before it. Every other line is output and is replaced. A
// command that exits non-zero must be followed by `echo $?`, so the page
// says so and the test knows the code to expect.
package docgen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
	"github.com/assign-dev/assign/cmd/assign/root"
	"github.com/assign-dev/assign/store"
)

// Marker is the line that makes the next fenced block generated.
const Marker = "<!-- make docs -->"

var markerRE = regexp.MustCompile(`^<!-- make docs(?: lines=([0-9]+))? -->$`)

// Command is one "$ " line (with its continuation lines) of a block.
type Command struct {
	// Text is the command as written after "$ ", continuation lines joined
	// with newlines.
	Text string
	// Args are the words of Text after shell-style quote removal.
	Args []string
	// Output is the output written under the command in the file.
	Output string
	// Line is the 1-based line of the "$ " in the file.
	Line int
}

// IsEchoStatus reports whether the command is `echo $?`.
func (c Command) IsEchoStatus() bool {
	return len(c.Args) == 2 && c.Args[0] == "echo" && c.Args[1] == "$?"
}

// Block is one generated fenced block.
type Block struct {
	// Start and End are the 0-based indexes of the fence lines.
	Start, End int
	// MaxLines is how many lines of each command's output the block shows
	// (0: all).
	MaxLines int
	Commands []Command
}

// Doc is a markdown file split into lines, with its generated blocks.
type Doc struct {
	Path   string
	Lines  []string
	Blocks []Block
}

// Parse finds the generated blocks of a markdown file.
func Parse(path string, src []byte) (*Doc, error) {
	d := &Doc{Path: path, Lines: strings.Split(string(src), "\n")}
	for i := 0; i < len(d.Lines); i++ {
		m := markerRE.FindStringSubmatch(strings.TrimSpace(d.Lines[i]))
		if m == nil {
			if strings.HasPrefix(strings.TrimSpace(d.Lines[i]), "<!-- make docs") {
				return nil, fmt.Errorf("%s:%d: write %s or <!-- make docs lines=N -->", path, i+1, Marker)
			}
			continue
		}
		start := i + 1
		if start >= len(d.Lines) || !strings.HasPrefix(d.Lines[start], "```") {
			return nil, fmt.Errorf("%s:%d: %s must be followed by a fenced code block", path, i+1, Marker)
		}
		end := -1
		for j := start + 1; j < len(d.Lines); j++ {
			if strings.HasPrefix(d.Lines[j], "```") {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("%s:%d: the code block is not closed", path, start+1)
		}
		b := Block{Start: start, End: end}
		if m[1] != "" {
			b.MaxLines, _ = strconv.Atoi(m[1])
		}
		var cur *Command
		for j := start + 1; j < end; j++ {
			line := d.Lines[j]
			if cur != nil && !complete(cur.Text) {
				cur.Text += "\n" + line
				continue
			}
			if strings.HasPrefix(line, "$ ") {
				b.Commands = append(b.Commands, Command{Text: strings.TrimPrefix(line, "$ "), Line: j + 1})
				cur = &b.Commands[len(b.Commands)-1]
				continue
			}
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: a generated block must start with a \"$ \" command", path, j+1)
			}
			cur.Output += line + "\n"
		}
		if len(b.Commands) == 0 {
			return nil, fmt.Errorf("%s:%d: the generated block has no \"$ \" command", path, start+1)
		}
		for k := range b.Commands {
			c := &b.Commands[k]
			if !complete(c.Text) {
				return nil, fmt.Errorf("%s:%d: unbalanced quotes in the command", path, c.Line)
			}
			args, err := Split(c.Text)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, c.Line, err)
			}
			c.Args = args
			if c.IsEchoStatus() {
				if k == 0 || b.Commands[k-1].IsEchoStatus() {
					return nil, fmt.Errorf("%s:%d: echo $? must follow a command", path, c.Line)
				}
				continue
			}
			if len(args) == 0 || args[0] != "assign" {
				return nil, fmt.Errorf("%s:%d: a generated command must be `assign ...` or `echo $?`, not %q", path, c.Line, c.Text)
			}
		}
		d.Blocks = append(d.Blocks, b)
		i = end
	}
	return d, nil
}

// complete reports whether s closes every quote it opens and does not end
// in a backslash continuation.
func complete(s string) bool {
	_, err := Split(s)
	return err == nil && !strings.HasSuffix(s, "\\")
}

// Split breaks a command into words the way a POSIX shell does for the
// forms the docs use: single quotes, double quotes (with \" \\ \$ \`
// escapes), backslash escapes and backslash-newline continuations outside
// quotes. It does no expansion: "$?" stays "$?".
func Split(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unclosed \" in %q", s)
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					w.WriteByte(s[i])
					inWord = true
				}
			}
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// Result is what running one command gave.
type Result struct {
	Output string
	Code   int
}

// Run runs one `assign ...` command in-process with the working folder's
// ./assign-data as the home (as a user who ran `assign demo` there would),
// standard output taken for a terminal (aligned tables), standard error not
// (no progress bars), and both captured in order into one text, with the
// working folder's absolute path written "./".
func Run(ctx context.Context, args []string) Result {
	var buf bytes.Buffer
	ios := &cmdutil.IOStreams{In: strings.NewReader(""), Out: &buf, ErrOut: &buf}
	ios.SetTTY(true, true, false)
	f := cmdutil.New(ios)
	f.HomeDir = func() string { return store.DefaultHome }
	code := root.MainContext(ctx, f, args[1:])
	out := buf.String()
	if wd, err := os.Getwd(); err == nil {
		// Commands print the home's absolute path; the reader's is ./assign-data.
		out = strings.ReplaceAll(out, wd+string(os.PathSeparator), "./")
	}
	return Result{Output: out, Code: code}
}

// Generate runs every command of the doc's generated blocks in order and
// rewrites their output. A command that exits with another code than the
// `echo $?` after it says (0 when there is none) is an error naming it.
func (d *Doc) Generate(ctx context.Context) error {
	for bi := range d.Blocks {
		b := &d.Blocks[bi]
		last := 0
		for ci := range b.Commands {
			c := &b.Commands[ci]
			if c.IsEchoStatus() {
				c.Output = strconv.Itoa(last) + "\n"
				continue
			}
			r := Run(ctx, c.Args)
			last = r.Code
			c.Output = tidy(r.Output, b.MaxLines)
			if r.Code != 0 && !(ci+1 < len(b.Commands) && b.Commands[ci+1].IsEchoStatus()) {
				return fmt.Errorf("%s:%d: %s exited %d (follow it with `$ echo $?` if that is the point):\n%s", d.Path, c.Line, c.Text, r.Code, r.Output)
			}
		}
	}
	return nil
}

// Check runs every command of the doc's generated blocks in order and
// returns one problem per command whose exit code is not the one the doc
// shows (0, or the number under its `echo $?`).
func (d *Doc) Check(ctx context.Context) []string {
	var problems []string
	for _, b := range d.Blocks {
		for ci, c := range b.Commands {
			if c.IsEchoStatus() {
				continue
			}
			want := 0
			if ci+1 < len(b.Commands) && b.Commands[ci+1].IsEchoStatus() {
				n, err := strconv.Atoi(strings.TrimSpace(b.Commands[ci+1].Output))
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: the output of echo $? is %q, not a number", d.Path, b.Commands[ci+1].Line, b.Commands[ci+1].Output))
					continue
				}
				want = n
			}
			r := Run(ctx, c.Args)
			if r.Code != want {
				problems = append(problems, fmt.Sprintf("%s:%d: `%s` exited %d, the doc shows %d; its output now:\n%s", d.Path, c.Line, c.Text, r.Code, want, r.Output))
			}
		}
	}
	return problems
}

// tidy drops trailing blanks on each line and blank lines at the end, and
// keeps the first max lines (all when max is 0).
func tidy(s string, max int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	if max > 0 && len(lines) > max {
		lines = append(lines[:max], "...")
	}
	return strings.Join(lines, "\n") + "\n"
}

// Render returns the file with every generated block's output replaced.
func (d *Doc) Render() []byte {
	var out []string
	prev := 0
	for _, b := range d.Blocks {
		out = append(out, d.Lines[prev:b.Start+1]...)
		for _, c := range b.Commands {
			lines := strings.Split(c.Text, "\n")
			out = append(out, "$ "+lines[0])
			out = append(out, lines[1:]...)
			if c.Output != "" {
				out = append(out, strings.Split(strings.TrimSuffix(c.Output, "\n"), "\n")...)
			}
		}
		prev = b.End
	}
	out = append(out, d.Lines[prev:]...)
	return []byte(strings.Join(out, "\n"))
}

// ReadFile parses the markdown file at path.
func ReadFile(path string) (*Doc, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Invocation is one `assign ...` line of an ordinary (not generated) code
// block: a synopsis or an example that needs data the docs do not have.
type Invocation struct {
	Path string
	Line int
	Args []string
}

// Invocations returns the `assign ...` lines of the doc's shell and console
// blocks that are not generated, with shell prompts, environment
// assignments and trailing comments removed. Lines of other languages
// (TOML, SQL, cron, Python) are not commands and are left out.
func (d *Doc) Invocations() []Invocation {
	generated := map[int]bool{}
	for _, b := range d.Blocks {
		generated[b.Start] = true
	}
	var out []Invocation
	for i := 0; i < len(d.Lines); i++ {
		fence := d.Lines[i]
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(fence, "```"))
		end := i + 1
		for end < len(d.Lines) && !strings.HasPrefix(d.Lines[end], "```") {
			end++
		}
		if !generated[i] && (lang == "" || lang == "sh" || lang == "console" || lang == "bash") {
			for j := i + 1; j < end; j++ {
				text := d.Lines[j]
				for strings.HasSuffix(text, "\\") && j+1 < end {
					j++
					text = strings.TrimSuffix(text, "\\") + " " + d.Lines[j]
				}
				if args := invocation(text); args != nil {
					out = append(out, Invocation{Path: d.Path, Line: j + 1, Args: args})
				}
			}
		}
		i = end
	}
	return out
}

// invocation returns the words of an `assign ...` line, nil for any other.
func invocation(line string) []string {
	line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
	if k := strings.Index(line, " # "); k >= 0 {
		line = line[:k]
	}
	words, err := Split(line)
	if err != nil {
		return nil
	}
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		words = words[1:] // ASSIGN_HOME=/tmp/try assign demo
	}
	if len(words) == 0 || words[0] != "assign" {
		return nil
	}
	return words
}

// CheckInvocation reports a command or flag of an `assign ...` line that
// the command tree does not have. Optional parts written as `[--flag X]`
// and placeholders are allowed; only the command path and flag names are
// checked, since the values of a synopsis are not real.
func CheckInvocation(args []string) error {
	ios, _, _, _ := cmdutil.Test()
	rootCmd := root.NewCmdRoot(cmdutil.New(ios))
	var words []string
	for _, w := range args[1:] {
		if w == "--" {
			break // what follows belongs to another command (assign shards -- preassign ...)
		}
		words = append(words, w)
	}
	var path []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "--") && len(path) == 0 {
			// a global flag before the command: assign --home DIR preassign ...
			name, _, hasValue := strings.Cut(strings.TrimPrefix(w, "--"), "=")
			fl := rootCmd.PersistentFlags().Lookup(name)
			if fl == nil {
				return fmt.Errorf("assign has no global flag --%s", name)
			}
			if !hasValue && fl.NoOptDefVal == "" {
				i++
			}
			continue
		}
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
			break
		}
		path = append(path, w)
	}
	cmd, rest, err := rootCmd.Find(path)
	if err != nil {
		return err
	}
	if cmd.HasSubCommands() && len(rest) > 0 && cmd.ValidateArgs(rest) != nil {
		return fmt.Errorf("%q has no subcommand %q", cmd.CommandPath(), rest[0])
	}
	if err := cmd.ValidateArgs(rest); err != nil {
		return fmt.Errorf("%s: %v", cmd.CommandPath(), err)
	}
	for _, w := range words {
		w = strings.Trim(w, "[]")
		if !strings.HasPrefix(w, "--") || w == "--" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		if cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil && cmd.PersistentFlags().Lookup(name) == nil {
			if name == "help" || name == "version" {
				continue
			}
			return fmt.Errorf("%q has no flag --%s", cmd.CommandPath(), name)
		}
	}
	return nil
}
