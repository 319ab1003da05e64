//go:build qemu && linux

package qemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPowerCut is a pulled plug, for real: a client makes acknowledged
// writes (assignments one by one and by CSV import) while the host kills
// QEMU outright — the guest's page cache is lost with it, as on a power
// cut — at a random moment; the box is powered on again on the same /data
// disk, must be ready (/healthz 200) and must hold every write it
// acknowledged. A recovery the store performs at start is an alert; it
// is counted. POWERCUT_CYCLES sets the number of cuts (default 3: the CI
// run; make powercut runs 50).
func TestPowerCut(t *testing.T) {
	kernel, initrd := os.Getenv("PNPBOX_VM_KERNEL"), os.Getenv("PNPBOX_VM_INITRD")
	if kernel == "" || initrd == "" {
		t.Fatal("PNPBOX_VM_KERNEL and PNPBOX_VM_INITRD are not set: run make qemu-test or make powercut")
	}
	cycles := 3
	if s := os.Getenv("POWERCUT_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("POWERCUT_CYCLES=%q", s)
		}
		cycles = n
	}
	v := boot(t, kernel, initrd)
	args := append([]string(nil), v.qemu.Args...)

	var mu sync.Mutex
	acked := map[string]string{} // MAC → extension the box acknowledged
	seq := 0
	var bootTimes []float64
	recoveries, writes, lost := 0, 0, 0
	for cycle := 0; cycle <= cycles; cycle++ {
		start := time.Now()
		if !waitFor(180*time.Second, func() bool { return v.get("/healthz") == 200 }) {
			t.Fatalf("cycle %d: no /healthz 200 within 180 s of power-on", cycle)
		}
		bootTimes = append(bootTimes, time.Since(start).Seconds())
		// Every acknowledged write is there.
		var phones []struct {
			MAC        string `json:"mac"`
			Assignment *struct {
				Extension string `json:"extension"`
			} `json:"assignment"`
		}
		// The first API answer after a cut may be slow under emulation
		// (TCG): up to 3 tries of 30 s, and the time it took is logged.
		t0 := time.Now()
		var body []byte
		for try := 0; body == nil && try < 3; try++ {
			body = v.fetch("/api/phones")
		}
		select {
		case <-v.off:
			t.Fatalf("cycle %d: the VM powered off on its own after it was ready (the watchdog?)", cycle)
		default:
		}
		if body == nil {
			t.Fatalf("cycle %d: /healthz 200 but GET /api/phones unanswered for 90 s", cycle)
		}
		if err := json.Unmarshal(body, &phones); err != nil {
			t.Fatalf("cycle %d: /api/phones: %v", cycle, err)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Logf("cycle %d: the first GET /api/phones took %.1f s", cycle, d.Seconds())
		}
		have := map[string]string{}
		for _, p := range phones {
			if p.Assignment != nil {
				have[p.MAC] = p.Assignment.Extension
			}
		}
		mu.Lock()
		for mac, ext := range acked {
			if have[mac] != ext {
				lost++
				t.Errorf("cycle %d: acknowledged %s → %s, after the power cut %q", cycle, mac, ext, have[mac])
			}
		}
		n := len(acked)
		mu.Unlock()
		var alerts []struct {
			Kind string `json:"kind"`
		}
		v.api("GET", "/api/alerts", "", &alerts)
		if len(alerts) > 0 {
			recoveries++
			t.Logf("cycle %d: alerts after boot: %+v", cycle, alerts)
			v.api("POST", "/api/alerts/ack", "", nil)
		}
		t.Logf("cycle %d: ready %.1f s after power-on; the %d acknowledged assignments all present", cycle, bootTimes[len(bootTimes)-1], n)
		if cycle == cycles {
			break
		}

		// Writes until the plug is pulled.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				seq++
				k := seq
				mu.Unlock()
				var ok bool
				var batch map[string]string
				if k%5 == 0 { // a CSV import of three
					batch = map[string]string{}
					var csv strings.Builder
					csv.WriteString("mac,extension,password\n")
					for j := range 3 {
						mac := fmt.Sprintf("000B82%06X", k*4+j)
						ext := strconv.Itoa(1000 + (k*4+j)%9000)
						batch[mac] = ext
						fmt.Fprintf(&csv, "%s,%s,pw-secret-%d\n", mac, ext, k)
					}
					ok = v.try("POST", "/api/assignments/import", "text/csv", csv.String())
				} else {
					mac := fmt.Sprintf("000B82%06X", k*4)
					ext := strconv.Itoa(1000 + (k*4)%9000)
					batch = map[string]string{mac: ext}
					ok = v.try("PUT", "/api/phones/"+mac+"/assignment", "application/json", `{"extension":"`+ext+`","password":"pw-secret-`+ext+`"}`)
				}
				if ok {
					mu.Lock()
					for m, e := range batch {
						acked[m] = e
					}
					writes++
					mu.Unlock()
				}
			}
		}()
		time.Sleep(time.Duration(200+rand.IntN(3000)) * time.Millisecond)
		v.qemu.Process.Kill() // the plug
		<-v.off
		close(stop)
		<-done

		cmd := exec.Command(args[0], args[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		off := make(chan struct{})
		if err := cmd.Start(); err != nil {
			t.Fatalf("power on again: %v", err)
		}
		go func() { cmd.Wait(); close(off) }()
		v.qemu, v.off = cmd, off
	}
	mu.Lock()
	defer mu.Unlock()
	var worst float64
	for _, b := range bootTimes {
		worst = max(worst, b)
	}
	t.Logf("MEASURED power cuts: %d cuts during %d acknowledged writes (%d phones); %d of %d boots ready (slowest %.1f s); acknowledged writes lost: %d; boots with an alert: %d",
		cycles, writes, len(acked), len(bootTimes), cycles+1, worst, lost, recoveries)
}

// fetch GETs path as admin with a 30 s limit; nil unless 200.
func (v *vm) fetch(path string) []byte {
	req, _ := http.NewRequest("GET", "http://"+boxIP+path, nil)
	req.SetBasicAuth("admin", password)
	c := *v.http
	c.Timeout = 30 * time.Second
	res, err := c.Do(req)
	if err != nil {
		v.t.Logf("GET %s: %v", path, err)
		return nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		return nil
	}
	return b
}

// try makes one API request and reports whether it was acknowledged (2xx).
func (v *vm) try(method, path, ctype, body string) bool {
	req, _ := http.NewRequest(method, "http://"+boxIP+path, strings.NewReader(body))
	req.SetBasicAuth("admin", password)
	req.Header.Set("Content-Type", ctype)
	c := *v.http
	c.Timeout = 10 * time.Second
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode/100 == 2
}
