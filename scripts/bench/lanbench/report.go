package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// row is one line of the report: pnpd's figure, the reference server's
// in the same run, and their ratio (> 1 favours pnpd).
type row struct {
	what, pnpd, ref, ratio string
}

type report struct {
	smoke    bool
	sections map[string][]row
	goBench  string
	failed   []string
}

func newReport(smoke bool) *report { return &report{smoke: smoke, sections: map[string][]row{}} }

func (r *report) add(section string, x row) { r.sections[section] = append(r.sections[section], x) }

var sectionTitles = []struct{ key, title, ref string }{
	{"storm", "Boot storm: first SUBSCRIBE answered (pnpd over multicast; Kamailio, stateless, unicast)", "Kamailio (stateless 200)"},
	{"stormpy", "Boot storm against a stateless Python PnP responder (both over multicast; the same pnpd runs)", "responder.py (stateless, records nothing)"},
	{"sip", "SIP throughput", "Kamailio (stateless 200)"},
	{"http", "Config downloads", "nginx-light, same bytes"},
	{"flood", "Flood while phones boot", "Kamailio (stateless 200)"},
	{"floodpy", "Flood while phones boot, against the stateless Python responder (the same pnpd runs)", "responder.py (stateless, records nothing)"},
	{"footprint", "Footprint", ""},
}

func (r *report) markdown() string {
	var b strings.Builder
	kind := "full run"
	if r.smoke {
		kind = "smoke run (tiny sizes, not a measurement)"
	}
	fmt.Fprintf(&b, "Measured %s, %s, on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), kind, machine())
	for _, s := range sectionTitles {
		rows := r.sections[s.key]
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "#### %s\n\n", s.title)
		if s.ref == "" {
			b.WriteString("| What | pnpd |\n|---|---|\n")
			for _, x := range rows {
				fmt.Fprintf(&b, "| %s | %s |\n", x.what, x.pnpd)
			}
		} else {
			fmt.Fprintf(&b, "| What | pnpd | %s | pnpd ÷ reference |\n|---|---|---|---|\n", s.ref)
			for _, x := range rows {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.what, x.pnpd, orDash(x.ref), orDash(x.ratio))
			}
		}
		b.WriteString("\n")
	}
	if r.goBench != "" {
		b.WriteString("#### Go benchmarks (hot paths, `-benchmem`)\n\n| Benchmark | ns/op | B/op | allocs/op |\n|---|---|---|---|\n")
		for _, line := range strings.Split(r.goBench, "\n") {
			f := strings.Fields(line)
			if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
				continue
			}
			// Values precede their units; custom metrics may sit between.
			unit := func(u string) string {
				for i := 2; i < len(f); i++ {
					if f[i] == u {
						return f[i-1]
					}
				}
				return "–"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", strings.TrimSuffix(f[0], fmt.Sprintf("-%d", runtime.NumCPU())),
				unit("ns/op"), unit("B/op"), unit("allocs/op"))
		}
		b.WriteString("\n")
	}
	if len(r.failed) > 0 {
		b.WriteString("Scenarios that did not complete:\n\n")
		for _, f := range r.failed {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// machine describes where the figures come from.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "?"
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		kernel = strings.TrimSpace(string(out))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average at the end " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s/%s, %d cores (%s), Linux %s, %s%s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, kernel, runtime.Version(), load)
}
