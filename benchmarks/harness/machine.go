package harness

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/assign-dev/assign/cmd/assign/cmdutil"
)

// Machine describes where a benchmark ran.
type Machine struct {
	// Cores is runtime.NumCPU(): the logical CPUs this process may use.
	Cores int `json:"cores"`
	// CPUModel is the first "model name" of /proc/cpuinfo.
	CPUModel string `json:"cpu_model"`
	// MemTotal is MemTotal of /proc/meminfo, in bytes.
	MemTotal int64 `json:"mem_total_bytes"`
	// Kernel is the running kernel release (/proc/sys/kernel/osrelease).
	Kernel string `json:"kernel"`
	// GoVersion is the toolchain that built the harness.
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
}

// DescribeMachine reads the machine's description; fields the system does
// not offer stay empty.
func DescribeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		f := strings.Fields(v) // "24598712 kB"
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			m.MemTotal = n * 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// String is the one-line form used in reports.
func (m Machine) String() string {
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU"
	}
	return fmt.Sprintf("%d cores (%s), %s RAM, %s/%s, Linux %s, %s", m.Cores, model, HumanBytes(m.MemTotal), m.GOOS, m.GOARCH, m.Kernel, m.GoVersion)
}

// procField returns the value of the first "key: value" line of a /proc
// file whose key is key, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAverage returns the 1-minute load average of /proc/loadavg.
func LoadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("read load average: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("read load average: /proc/loadavg is empty")
	}
	return strconv.ParseFloat(f[0], 64)
}

// HumanBytes formats n bytes with a binary unit (1.5 GiB), as assign does.
func HumanBytes(n int64) string { return cmdutil.HumanBytes(n) }
