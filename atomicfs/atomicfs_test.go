package atomicfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withUmask runs f under umask mask (process-wide, so these tests are not
// parallel).
func withUmask(t *testing.T, mask int, f func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// noTemps fails when dir holds a temporary left over.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temporary %s left in %s", e.Name(), dir)
		}
	}
}

// TestModesFollowUmask: files and folders get 0666/0777 less the umask,
// never a private mode of their own (CURRENT and manifest.json used to be
// 0600, which locked other accounts out of a shared home).
func TestModesFollowUmask(t *testing.T) {
	for _, tc := range []struct {
		umask          int
		file, dir, out os.FileMode
	}{
		{0o022, 0o644, 0o755, 0o755},
		{0o002, 0o664, 0o775, 0o775},
		{0o077, 0o600, 0o700, 0o700},
	} {
		withUmask(t, tc.umask, func() {
			dir := t.TempDir()
			p := filepath.Join(dir, "CURRENT")
			if err := WriteFile(p, []byte("x\n")); err != nil {
				t.Fatal(err)
			}
			if got := mode(t, p); got != tc.file {
				t.Errorf("umask %03o: WriteFile made %v, want %v", tc.umask, got, tc.file)
			}
			d, err := NewDir(filepath.Join(dir, "sub", "run"))
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteFile(filepath.Join(d.Path, "manifest.json"), []byte("{}")); err != nil {
				t.Fatal(err)
			}
			if err := d.Publish(false); err != nil {
				t.Fatal(err)
			}
			if got := mode(t, filepath.Join(dir, "sub", "run")); got != tc.dir {
				t.Errorf("umask %03o: a published folder is %v, want %v", tc.umask, got, tc.dir)
			}
			if got := mode(t, filepath.Join(dir, "sub")); got != tc.out {
				t.Errorf("umask %03o: a created parent is %v, want %v", tc.umask, got, tc.out)
			}
			if got := mode(t, filepath.Join(dir, "sub", "run", "manifest.json")); got != tc.file {
				t.Errorf("umask %03o: a file in it is %v, want %v", tc.umask, got, tc.file)
			}
		})
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, s := range []string{"one", "two"} {
		if err := WriteFile(p, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != s {
			t.Fatalf("read %q, want %q", b, s)
		}
	}
	noTemps(t, dir)

	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("three")
	f.Abort()
	f.Abort()
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("an aborted write changed the file to %q", b)
	}
	noTemps(t, dir)

	err = WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "missing", "f")) || strings.Contains(err.Error(), TempPrefix) {
		t.Errorf("a write into a missing folder: %v (want the final path named and ErrNotExist kept)", err)
	}
}

func TestPublishFile(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "out.parquet")
	tmp := TempPath(final)
	if filepath.Dir(tmp) != dir || !strings.HasPrefix(filepath.Base(tmp), TempPrefix) {
		t.Fatalf("TempPath %s is not a hidden sibling of %s", tmp, final)
	}
	if TempPath(final) == tmp {
		t.Fatal("TempPath returned the same name twice")
	}
	os.WriteFile(tmp, []byte("data"), 0o666)
	if err := Publish(tmp, final); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(final); string(b) != "data" {
		t.Fatalf("published %q", b)
	}
	noTemps(t, dir)
}

func TestDirPublish(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "2026-03-02")
	write := func(content string) *Dir {
		d, err := NewDir(final)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d.Path, "report.html"), []byte(content), 0o666)
		os.Mkdir(filepath.Join(d.Path, "nested"), 0o777)
		os.WriteFile(filepath.Join(d.Path, "nested", content), []byte(content), 0o666)
		return d
	}
	if err := write("a").Publish(false); err != nil {
		t.Fatal(err)
	}
	d := write("b")
	if err := d.Publish(false); !errors.Is(err, ErrExists) {
		t.Fatalf("publish over an existing folder without replace: %v", err)
	}
	d.Abort()
	if err := write("c").Publish(true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "report.html")); string(b) != "c" {
		t.Fatalf("after replace: %q", b)
	}
	entries, _ := os.ReadDir(filepath.Join(final, "nested"))
	if len(entries) != 1 || entries[0].Name() != "c" {
		t.Fatalf("the replaced folder mixes two versions: %v", entries)
	}
	noTemps(t, parent)
	if rest, _ := os.ReadDir(parent); len(rest) != 1 {
		t.Fatalf("left beside the folder: %v", rest)
	}

	if _, err := NewDirAt(filepath.Join(parent, ".tmp-x"), filepath.Join(parent, "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDirAt(filepath.Join(parent, ".tmp-x"), filepath.Join(parent, "x")); !errors.Is(err, os.ErrExist) {
		t.Fatalf("a second reservation of the same temporary folder: %v", err)
	}
}

// TestLargeFileFlushesInBackground: a file written in many pieces past
// several flushChunks (background flushes under way while it is written,
// and at Commit or Abort) commits whole, or aborts leaving nothing.
func TestLargeFileFlushesInBackground(t *testing.T) {
	dir := t.TempDir()
	piece := bytes.Repeat([]byte("0123456789abcdef"), 1<<12) // 64 KiB
	n := 3*flushChunk/len(piece) + 5
	write := func(name string) *File {
		f, err := Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			piece[0] = byte(i)
			if _, err := f.Write(piece); err != nil {
				t.Fatal(err)
			}
		}
		if f.flushing == nil {
			t.Fatalf("%d bytes written and no background flush started", n*len(piece))
		}
		return f
	}
	f := write("kept")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n*len(piece) {
		t.Fatalf("%d bytes committed, want %d", len(got), n*len(piece))
	}
	for i := range n {
		if got[i*len(piece)] != byte(i) {
			t.Fatalf("piece %d starts with %d", i, got[i*len(piece)])
		}
	}
	f = write("dropped")
	f.Abort()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "kept" {
		t.Fatalf("after an abort the folder holds %v", entries)
	}
}
