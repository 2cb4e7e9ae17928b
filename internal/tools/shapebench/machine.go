package shapebench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Machine describes where a run ran.
type Machine struct {
	NumCPU                       int
	CPU, Memory, Go, SpiceDB, OS string
}

func readMachine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPU = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb); err == nil {
					m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				m.OS = strings.Trim(strings.TrimPrefix(l, "PRETTY_NAME="), `"`)
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/authzed/spicedb" {
				m.SpiceDB = dep.Version
			}
		}
	}
	return m
}

func loadAvg(phase string) string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return phase + ": ?"
	}
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return fmt.Sprintf("%s: %s %s %s", phase, f[0], f[1], f[2])
	}
	return phase + ": " + strings.TrimSpace(string(b))
}
