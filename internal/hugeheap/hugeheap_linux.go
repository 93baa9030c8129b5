//go:build linux

package hugeheap

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

const hugePage = 2 << 20

// Reserve maps up to size bytes of heap address space (never more than an
// eighth of the machine's memory, so that no overcommit policy refuses
// it), marks it MADV_HUGEPAGE and frees it again: the heap's later
// allocations reuse the lowest free addresses first, so they fall inside
// the marked range and fault in huge pages. Nothing is touched, so the
// reservation costs no memory. It reports whether it marked anything; it
// does nothing when GODEBUG has disablethp=1 or the kernel has no
// transparent huge pages, and an error of madvise only leaves the heap as
// it was. Call it early, before the job allocates; only the first call in
// a process does anything (a later one would find the range free and
// zero it, gigabytes, to allocate it again) and the others report what it
// did.
func Reserve(size int) bool {
	once.Do(func() { marked = reserve(size) })
	return marked
}

var (
	once   sync.Once
	marked bool
)

func reserve(size int) bool {
	if strings.Contains(os.Getenv("GODEBUG"), "disablethp=1") || !available() {
		return false
	}
	size = min(size, memTotal()/8) &^ (hugePage - 1)
	if size < 4*hugePage {
		return false
	}
	b := make([]byte, size)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	beg := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + uintptr(size)) &^ (hugePage - 1)
	err := syscall.Madvise(b[beg-p:end-p], syscall.MADV_HUGEPAGE)
	b = nil
	runtime.GC() // frees the range for the job's allocations
	return err == nil
}

// available reports whether transparent huge pages may back a region that
// asks for them.
func available() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return false
	}
	s := string(b)
	return strings.Contains(s, "[always]") || strings.Contains(s, "[madvise]")
}

// memTotal is the machine's memory in bytes (0 when unknown).
func memTotal() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
