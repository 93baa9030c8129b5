package plancmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartProfilesWritesBoth(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	stop, err := startProfiles(cpu, mem)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := 0; i < 1_000_000; i++ {
		x += i % 7
	}
	_ = x
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{cpu, mem} {
		fi, err := os.Stat(f)
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v, size %d; want a non-empty profile", f, err, fi.Size())
		}
	}
}

func TestStartProfilesNoneIsNoOp(t *testing.T) {
	stop, err := startProfiles("", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestStartProfilesBadPath(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.prof")
	if _, err := startProfiles(bad, ""); err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("error %v, want one naming --cpuprofile", err)
	}
	stop, err := startProfiles("", bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err == nil || !strings.Contains(err.Error(), "--memprofile") {
		t.Errorf("error %v, want one naming --memprofile", err)
	}
}
