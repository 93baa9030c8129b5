package benchmarks

import (
	"os"
	"testing"
)

var tmpRoot string

// tempDir is one folder for the fixture, shared by every benchmark of the
// binary (b.TempDir would vanish after the first) and removed at exit.
func tempDir() (string, error) {
	if tmpRoot == "" {
		d, err := os.MkdirTemp("", "assign-bench-")
		if err != nil {
			return "", err
		}
		tmpRoot = d
	}
	return tmpRoot, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}
