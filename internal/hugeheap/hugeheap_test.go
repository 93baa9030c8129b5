//go:build linux

package hugeheap

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestReserveMarksTheHeap: after Reserve, a large allocation lies in a
// mapping the kernel lists as asking for huge pages (VmFlags "hg"),
// which does not depend on whether the kernel could find huge pages. (Its
// first bytes may lie below the marked range, in free heap just before
// it: its middle is looked up.)
func TestReserveMarksTheHeap(t *testing.T) {
	if !available() {
		t.Skip("the kernel offers no transparent huge pages")
	}
	if memTotal()/8 < 64<<20 {
		t.Skip("too little memory to reserve")
	}
	if !Reserve(64 << 20) {
		t.Fatal("Reserve marked nothing")
	}
	b := make([]byte, 16<<20)
	addr := uintptr(unsafe.Pointer(&b[len(b)/2]))
	flags := vmFlags(t, addr)
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Fatalf("the mapping of a 16 MiB allocation at %#x has VmFlags %q, want hg", addr, flags)
	}
}

// vmFlags returns the VmFlags of the mapping holding addr.
func vmFlags(t *testing.T, addr uintptr) string {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := span(line); ok {
			in = lo <= addr && addr < hi
			continue
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// span parses the address range that starts a mapping's line in smaps.
func span(line string) (lo, hi uintptr, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, dash := strings.Cut(r, "-")
	if !found || !dash {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 16, 64)
	y, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(x), uintptr(y), true
}
