package provision

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/provision/provisiontest"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// footprintEnv names the database a re-executed test binary opens to
// measure start time and resident memory in a process that has done
// nothing else (see TestMain). With footprintEnv+"_CPU" or "_HEAP" set to
// a file name, the child writes a CPU or heap profile of the start there;
// with "_DEBUG" set, its /proc status and heap figures go to the log.
const footprintEnv = "PNPBOX_FOOTPRINT_DB"

// fleetEnv ("path:n") makes the test binary write a database of n phones
// (writeFleet) and exit: scripts/bench-start.sh times pnpd against it.
const fleetEnv = "PNPBOX_WRITE_FLEET"

func TestMain(m *testing.M) {
	if path := os.Getenv(footprintEnv); path != "" {
		os.Exit(footprintChild(path))
	}
	if spec := os.Getenv(fleetEnv); spec != "" {
		path, n, _ := strings.Cut(spec, ":")
		phones, err := strconv.Atoi(n)
		if err == nil {
			err = writeFleet(path, phones)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// footprint is what the child process reports.
type footprint struct {
	Phones  int     `json:"phones"`
	StartMS float64 `json:"start_ms"` // store.Open + New
	OpenMS  float64 `json:"open_ms"`  // store.Open alone (verification included)
	CPUMS   float64 `json:"cpu_ms"`   // CPU time (user+system, all threads) of store.Open + New
	RSSKiB  int     `json:"rss_kib"`  // VmRSS after runtime.GC
	BaseKiB int     `json:"base_kib"` // VmRSS before opening anything
	HeapKiB uint64  `json:"heap_kib"` // live heap after runtime.GC
}

// footprintChild opens the store at path as pnpd does at start and prints
// a footprint as JSON on stdout.
func footprintChild(path string) int {
	runtime.GC()
	base := vmRSS()
	if f := os.Getenv(footprintEnv + "_CPU"); f != "" {
		w, _ := os.Create(f)
		pprof.StartCPUProfile(w)
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	st, err := store.OpenWith(path, store.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	t1 := time.Now()
	c, err := New(Config{Store: st, Notifier: &provisiontest.Notifier{}, HTTPPort: 80})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	t2 := time.Now()
	cpu := cpuTime() - cpu0
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fp := footprint{Phones: c.Status().Total, StartMS: ms64(t2.Sub(t0)), CPUMS: ms64(cpu), OpenMS: ms64(t1.Sub(t0)),
		RSSKiB: vmRSS(), BaseKiB: base, HeapKiB: ms.HeapAlloc >> 10}
	runtime.KeepAlive(c)
	if f := os.Getenv(footprintEnv + "_HEAP"); f != "" {
		w, _ := os.Create(f)
		pprof.WriteHeapProfile(w)
		w.Close()
	}
	if os.Getenv(footprintEnv+"_DEBUG") != "" {
		b, _ := os.ReadFile("/proc/self/status")
		os.Stderr.Write(b)
		fi, _ := os.Stat(path)
		fmt.Fprintln(os.Stderr, "file bytes", fi.Size(), "heapsys", ms.HeapSys>>10, "heapidle", ms.HeapIdle>>10, "released", ms.HeapReleased>>10)
	}
	json.NewEncoder(os.Stdout).Encode(fp)
	return 0
}

// cpuTime is the CPU time this process has used so far: wall time on a
// shared machine says more about the neighbours than about the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms64(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// vmRSS reads this process's resident set in KiB (0 where /proc is not).
func vmRSS() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// writeFleet writes a database holding n provisioned phones as a busy
// building leaves them: each seen, assigned (two BLF keys), notified and
// downloaded twice, plus a full event log.
func writeFleet(path string, n int) error {
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	const batch = 1000
	seq := uint64(0)
	for lo := 0; lo < n; lo += batch {
		w := store.Write{Assignments: map[appliance.MAC]appliance.Assignment{}}
		for i := lo; i < min(n, lo+batch); i++ {
			m := appliance.MAC{0x00, 0x0b, 0x82, byte(i >> 16), byte(i >> 8), byte(i)}
			ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
			ext := strconv.Itoa(10000 + i)
			seen := t0.Add(time.Duration(i) * time.Millisecond)
			w.Phones = append(w.Phones, appliance.Phone{
				MAC: m, Vendor: "grandstream", Model: "GXP2140", Firmware: "1.0.11.23",
				UserAgent: "Grandstream GXP2140 1.0.11.23", IP: ip, SIPPort: 5060,
				Source: netip.AddrPortFrom(ip, 5060), Interface: "lan0", Multicast: true,
				State: appliance.StateProvisioned, FirstSeen: seen, LastSeen: seen.Add(time.Minute),
				Token: fmt.Sprintf("%032x", i+1), AdminPassword: fmt.Sprintf("adm%017d", i),
				Dialog: &appliance.Dialog{CallID: fmt.Sprintf("%x@%s", i*7919, ip), RemoteURI: "<sip:MAC%3A" + m.String() + "@224.0.1.75>;tag=" + strconv.Itoa(i*31),
					LocalURI: "<sip:MAC%3A" + m.String() + "@224.0.1.75>", LocalTag: fmt.Sprintf("%016x", i*104729),
					RemoteTarget: fmt.Sprintf("<sip:%s:5060>", ip), RemoteAddr: netip.AddrPortFrom(ip, 5060),
					LocalAddr: netip.MustParseAddr("198.18.0.1"), Interface: "lan0", LocalCSeq: 1},
				LastNotify:   &appliance.NotifyOutcome{Time: seen.Add(2 * time.Second), Result: appliance.NotifyOK, Code: 200},
				Downloads:    2,
				LastDownload: &appliance.Download{Time: seen.Add(40 * time.Second), IP: ip, UserAgent: "Grandstream GXP2140 1.0.11.23", File: "cfg" + m.Lower() + ".xml", SHA256: fmt.Sprintf("%064x", i)},
				NotifiedAt:   seen.Add(2 * time.Second),
			})
			w.Assignments[m] = appliance.Assignment{Extension: ext, Password: "pw-" + ext + "-secret", DisplayName: "Desk " + ext,
				Keys: []appliance.Key{{Type: "blf", Value: strconv.Itoa(10001 + i), Label: "Next"}, {Type: "speed_dial", Value: "100", Label: "Reception"}}}
			for range 1 {
				seq++
				w.Events = append(w.Events, appliance.Event{Seq: seq, Time: seen, MAC: m, Kind: appliance.EventDownload,
					Detail: fmt.Sprintf("%q to %s (Grandstream GXP2140 1.0.11.23), sha256 %012x", "cfg"+m.Lower()+".xml", ip, i)})
			}
		}
		if err := st.Apply(w); err != nil {
			return err
		}
	}
	return nil
}

// measureFootprint writes a fleet of n phones and opens it in a fresh
// process.
func measureFootprint(tb testing.TB, n int) footprint {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "phones.db")
	if err := writeFleet(path, n); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), footprintEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	defer func() {
		if os.Getenv(footprintEnv+"_DEBUG") != "" {
			tb.Logf("%s", stderr.Bytes())
		}
	}()
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("child: %v\n%s", err, stderr.Bytes())
	}
	var fp footprint
	if err := json.Unmarshal(out, &fp); err != nil {
		tb.Fatalf("child said %q: %v", out, err)
	}
	if fp.Phones != n {
		tb.Fatalf("child loaded %d phones, want %d", fp.Phones, n)
	}
	return fp
}

// TestFootprintChild keeps the start benchmark's harness honest: the child
// process opens a small fleet and reports every phone and a resident size.
func TestFootprintChild(t *testing.T) {
	fp := measureFootprint(t, 300)
	if fp.RSSKiB <= 0 || fp.HeapKiB == 0 || fp.StartMS <= 0 {
		t.Errorf("footprint %+v: a figure is missing", fp)
	}
}

// BenchmarkStart10k is start to ready and resident memory with 10,000
// phones, each in a fresh process (the figures the performance doc
// quotes): ms from store.Open to New's return, MiB resident after a GC.
func BenchmarkStart10k(b *testing.B) {
	for b.Loop() {
		fp := measureFootprint(b, 10000)
		b.ReportMetric(fp.StartMS, "start-ms")
		b.ReportMetric(fp.OpenMS, "open-ms")
		b.ReportMetric(fp.CPUMS, "cpu-ms")
		b.ReportMetric(float64(fp.RSSKiB)/1024, "rss-MiB")
		b.ReportMetric(float64(fp.HeapKiB)/1024, "heap-MiB")
		b.ReportMetric(float64(fp.BaseKiB)/1024, "base-MiB")
	}
}
