package loaders

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Format is the file format of one source file.
type Format string

// The formats an extract may use (SPEC section 2).
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
	JSONL   Format = "jsonl"
	Arrow   Format = "arrow"
)

var formatByExt = map[string]Format{".csv": CSV, ".parquet": Parquet, ".jsonl": JSONL, ".arrow": Arrow}

// typed reports whether the format carries native column types (positions
// in it are row numbers or keys, not lines): every format but the text ones,
// database feeds included.
func (f Format) typed() bool { return f != CSV && f != JSONL }

// SourceFile is one file of a table's source.
type SourceFile struct {
	Path   string // as opened
	Rel    string // relative to the extract folder, for messages
	Format Format
	Size   int64
	// Feed, when set, supplies the rows instead of the file at Path (a
	// database source); Rel then names the source table or query.
	Feed Feed
}

// Source is where one table's rows come from: a single file, or a folder of
// files whose rows are taken together in file-name order.
type Source struct {
	Table  Table
	Name   string // "users.csv" or "users/"
	Folder bool
	Files  []SourceFile
}

// Format is the format of the source's files, or "mixed".
func (s *Source) Format() string {
	if len(s.Files) == 0 {
		return ""
	}
	f := s.Files[0].Format
	for _, sf := range s.Files[1:] {
		if sf.Format != f {
			return "mixed"
		}
	}
	return string(f)
}

// Extract is a discovered extract folder.
type Extract struct {
	Dir     string
	Sources map[string]*Source // by table name; a missing entry is an absent table
	// Notes are things ignored on the way (unknown files), one sentence each.
	Notes []string
	// Meta is recorded in the snapshot's assign_meta instead of source_dir
	// when the extract is not a folder (a database source).
	Meta map[string]string
}

// Discover finds the source of every table in dir. It fails on a missing
// required table, on two sources for one table, and on files that are
// folders, unreadable or empty; unknown files are only noted.
func Discover(dir string) (*Extract, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("extract folder %s does not exist", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("extract folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("extract %s is not a folder: give the folder that holds snacks.csv, users.csv, stock.csv and the other tables", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read extract folder %s: %w", dir, err)
	}
	ex := &Extract{Dir: dir, Sources: map[string]*Source{}}
	bare := map[string]string{} // table -> a file named like it without extension
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(dir, name)
		st, err := os.Stat(p) // follow symlinks
		if err != nil {
			return nil, statError(name, err)
		}
		ext := strings.ToLower(filepath.Ext(name))
		base := strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name)))
		var src *Source
		if st.IsDir() {
			t, ok := TableByName(strings.ToLower(name))
			if !ok {
				if f, known := formatByExt[ext]; known {
					if _, isTable := TableByName(base); isTable {
						return nil, &FileError{File: name, Msg: fmt.Sprintf("is a folder, not a %s file; a folder of files must be named %s/", f, base)}
					}
				}
				ex.Notes = append(ex.Notes, fmt.Sprintf("ignored folder %s/: not a table of the extract", sanitize(name, maxShown)))
				continue
			}
			src = &Source{Table: t, Name: name + "/", Folder: true}
			files, notes, ignored, err := folderFiles(dir, name, t)
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				// An empty folder is more likely a failed export than an
				// empty table: an empty optional table is an absent one.
				held := "it is empty"
				if len(ignored) > 0 {
					held = "it holds only " + echoNames(ignored, 5)
				}
				todo := fmt.Sprintf("put the files of table %s in it", t.Name)
				if !t.Required {
					todo += fmt.Sprintf(", or remove the folder to load %s empty", t.Name)
				}
				return nil, &FileError{Table: t.Name, File: name + "/", Msg: fmt.Sprintf("holds no .csv, .parquet, .jsonl or .arrow file (%s); %s", held, todo)}
			}
			src.Files = files
			ex.Notes = append(ex.Notes, notes...)
		} else {
			f, known := formatByExt[ext]
			t, isTable := TableByName(base)
			if ext == "" && isTable {
				// Settled after the loop: an error if the table has no
				// other source, which would otherwise be reported only as
				// missing and hide the file the operator sees.
				bare[t.Name] = name
				continue
			}
			if !known || !isTable {
				ex.Notes = append(ex.Notes, fmt.Sprintf("ignored %s: not <table>.csv, .parquet, .jsonl or .arrow for a table of the extract", sanitize(name, maxShown)))
				continue
			}
			sf, err := checkFile(p, name, f, st, t)
			if err != nil {
				return nil, err
			}
			src = &Source{Table: t, Name: name, Files: []SourceFile{sf}}
		}
		if prev := ex.Sources[src.Table.Name]; prev != nil {
			return nil, &FileError{Table: src.Table.Name, Msg: fmt.Sprintf("table %s has two sources, %s and %s: keep one of them", src.Table.Name, prev.Name, src.Name)}
		}
		ex.Sources[src.Table.Name] = src
	}
	for _, t := range Tables {
		name, ok := bare[t.Name]
		if !ok {
			continue
		}
		if ex.Sources[t.Name] == nil {
			return nil, &FileError{Table: t.Name, File: name, Msg: fmt.Sprintf("is a file without an extension: name it %s.csv (or .parquet, .jsonl, .arrow), or make %s/ a folder of such files", name, name)}
		}
		ex.Notes = append(ex.Notes, fmt.Sprintf("ignored %s: a file without an extension (table %s is read from %s)", name, t.Name, ex.Sources[t.Name].Name))
	}
	var missing []string
	for _, t := range Tables {
		if t.Required && ex.Sources[t.Name] == nil {
			missing = append(missing, t.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("extract %s lacks the required %s %s: each needs <table>.csv, .parquet, .jsonl, .arrow or a <table>/ folder",
			dir, plural(int64(len(missing)), "table", "tables"), strings.Join(missing, ", "))
	}
	sort.Strings(ex.Notes)
	return ex, nil
}

// folderFiles lists the source files of a table folder in name order, with
// notes on what it passed over and the names of those entries.
func folderFiles(dir, folder string, t Table) (files []SourceFile, notes, ignored []string, err error) {
	entries, err := os.ReadDir(filepath.Join(dir, folder))
	if err != nil {
		return nil, nil, nil, &FileError{File: folder + "/", Msg: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
	}
	for _, e := range entries { // ReadDir sorts by name: file order is name order
		rel := folder + "/" + e.Name()
		p := filepath.Join(dir, folder, e.Name())
		f, known := formatByExt[strings.ToLower(filepath.Ext(e.Name()))]
		st, err := os.Stat(p)
		if err != nil {
			if !known {
				// Not a source file either way: pass it over as any other.
				notes = append(notes, fmt.Sprintf("ignored %s: %s", sanitize(rel, maxShown), statError(rel, err).(*FileError).Msg))
				ignored = append(ignored, e.Name())
				continue
			}
			return nil, nil, nil, statError(rel, err)
		}
		if st.IsDir() {
			if known {
				return nil, nil, nil, &FileError{File: rel, Msg: "is a folder, not a file"}
			}
			notes = append(notes, fmt.Sprintf("ignored folder %s/: folders inside a table folder are not read", sanitize(rel, maxShown)))
			ignored = append(ignored, e.Name()+"/")
			continue
		}
		if !known {
			notes = append(notes, fmt.Sprintf("ignored %s: not a .csv, .parquet, .jsonl or .arrow file", sanitize(rel, maxShown)))
			ignored = append(ignored, e.Name())
			continue
		}
		sf, err := checkFile(p, rel, f, st, t)
		if err != nil {
			return nil, nil, nil, err
		}
		files = append(files, sf)
	}
	return files, notes, ignored, nil
}

// statError words a failed stat of an extract entry (following links).
func statError(rel string, err error) error {
	if errors.Is(err, syscall.ELOOP) {
		return &FileError{File: rel, Msg: "is a symbolic link that loops (it leads back to itself); point it at the table's file or folder, or remove it"}
	}
	return &FileError{File: rel, Msg: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
}

// checkFile fails early, with the file named, on what would otherwise come
// back as an obscure reader error, or a hang: a named pipe blocks an open
// until a writer comes, so only regular files are opened at all.
func checkFile(path, rel string, f Format, st fs.FileInfo, t Table) (SourceFile, error) {
	if st.IsDir() {
		return SourceFile{}, &FileError{File: rel, Msg: "is a folder, not a file"}
	}
	if !st.Mode().IsRegular() {
		return SourceFile{}, &FileError{File: rel, Msg: fmt.Sprintf("is %s, not a regular file; export table %s to a regular file", fileKind(st.Mode()), t.Name)}
	}
	if st.Size() == 0 {
		what := "without even a header row"
		switch {
		case f.typed():
			what = "so not a " + formatTitle(f) + " file"
		case f == JSONL:
			what = "without a row"
		}
		todo := "export the table again"
		if f == CSV {
			todo += " with its header row"
		}
		if !t.Required {
			todo += fmt.Sprintf(", or remove the file to load %s empty", t.Name)
		}
		return SourceFile{}, &FileError{File: rel, Msg: fmt.Sprintf("file is empty (0 bytes), %s; %s", what, todo)}
	}
	fh, err := os.Open(path)
	if err != nil {
		return SourceFile{}, &FileError{File: rel, Msg: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
	}
	var one [1]byte
	_, rerr := fh.Read(one[:])
	fh.Close()
	if rerr != nil {
		return SourceFile{}, &FileError{File: rel, Msg: fmt.Sprintf("cannot be read: %v", unwrapPath(rerr))}
	}
	return SourceFile{Path: path, Rel: rel, Format: f, Size: st.Size()}, nil
}

// fileKind names a file type that is neither a regular file nor a folder.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

func formatTitle(f Format) string {
	switch f {
	case Parquet:
		return "Parquet"
	case Arrow:
		return "Arrow IPC"
	case JSONL:
		return "JSON lines"
	}
	return "CSV"
}

// unwrapPath drops the path from an *fs.PathError: messages name the file
// relative to the extract already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
