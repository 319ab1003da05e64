package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kamailioAddr is where Kamailio listens: the box's namespace, a second
// address and port, so it never collides with pnpd's wildcard 5060.
const kamailioAddr = "198.18.0.3:5070"

func (s *suite) startKamailio() (*proc, error) {
	tmpl, err := os.ReadFile("scripts/bench/kamailio.cfg")
	if err != nil {
		return nil, err
	}
	mpath := "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
	if m, _ := filepath.Glob("/usr/lib/*/kamailio/modules/sl.so"); len(m) > 0 {
		mpath = filepath.Dir(m[0]) + "/"
	}
	cfg := strings.NewReplacer("LISTEN", kamailioAddr, "MPATH", strconv.Quote(mpath)).Replace(string(tmpl))
	path := filepath.Join(s.work, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	s.sh(context.Background(), 10*time.Second, "ip", "-n", boxNS, "addr", "replace", strings.Split(kamailioAddr, ":")[0]+"/16", "dev", "lan0")
	p, err := s.start("kamailio", boxNS, "kamailio", "-DD", "-E", "-f", path, "-m", "64", "-M", "8", "-Y", filepath.Join(s.work, "kamailio-run"))
	if err != nil {
		return nil, err
	}
	os.MkdirAll(filepath.Join(s.work, "kamailio-run"), 0o755)
	time.Sleep(time.Second) // it has no readiness signal; a second is plenty on a laptop
	select {
	case err := <-p.done:
		p.done <- err
		log, _ := os.ReadFile(filepath.Join(s.work, "kamailio.log"))
		return nil, fmt.Errorf("kamailio exited (%v): %s", err, tail(string(log), 500))
	default:
	}
	return p, nil
}

// startResponder starts scripts/bench/responder.py, the stateless Python
// PnP responder, in the box's namespace on the PnP group and the box's
// address, port 5060 (pnpd is stopped meanwhile).
func (s *suite) startResponder() (*proc, error) {
	p, err := s.start("responder", boxNS, "python3", "-u", "scripts/bench/responder.py", boxIP)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(s.work, "responder.log")
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-p.done:
			p.done <- err
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("responder.py exited (%v): %s", err, tail(string(log), 500))
		default:
		}
		if log, _ := os.ReadFile(logPath); strings.Contains(string(log), "ready") {
			return p, nil
		}
	}
	p.stop()
	return nil, errors.New("responder.py not ready within 10 s")
}

// ratio says how pnpd compares: for "higher is better" figures pass
// (pnpd, ref); for times pass (ref, pnpd), so > 1 always favours pnpd.
func ratio(num, den float64, label string) string {
	if den <= 0 || num <= 0 || math.IsNaN(num) || math.IsNaN(den) {
		return "–"
	}
	switch r := num / den; {
	case r >= 100:
		return fmt.Sprintf("%s%.0f×", label, r)
	case r < 0.01:
		return label + "<0.01×"
	}
	return fmt.Sprintf("%s%.3g×", label, num/den)
}

type sippResult struct {
	ok, failed, retrans int
	elapsed             time.Duration
	p50, p99            float64
}

func (r sippResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// sipp runs the SUBSCRIBE scenario: calls distinct MACs at rate/s (0:
// as fast as answers come, -l bounding what is outstanding), one
// socket per phone address when perIP.
func (s *suite) sipp(ctx context.Context, target string, calls, rate int, perIP bool, bound time.Duration) (sippResult, error) {
	inf := filepath.Join(s.work, "phones.csv")
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	a := phoneBase
	for i := range min(calls, 10000) {
		if perIP {
			fmt.Fprintf(&b, "%012X;%s;\n", uint64(0x000B82300000)+uint64(i), a)
			a = a.Next()
		} else {
			fmt.Fprintf(&b, "%012X;\n", uint64(0x000B82300000)+uint64(i))
		}
	}
	if err := os.WriteFile(inf, []byte(b.String()), 0o644); err != nil {
		return sippResult{}, err
	}
	dir, err := os.MkdirTemp(s.work, "sipp")
	if err != nil {
		return sippResult{}, err
	}
	stat := filepath.Join(dir, "stat.csv")
	scen, _ := filepath.Abs("scripts/bench/subscribe.xml")
	args := []string{"sh", "-c", `cd "$0" && exec "$@"`, dir, "sipp", target, "-sf", scen, "-inf", inf, "-m", strconv.Itoa(calls),
		"-trace_stat", "-stf", stat, "-fd", "1", "-trace_rtt", "-rtt_freq", "1",
		"-timeout", fmt.Sprintf("%ds", int(bound.Seconds())), "-timeout_error", "-nostdin", "-bg_dummy_disabled",
		"-max_socket", "5000", "-buff_size", "4194304"}
	args = slices.DeleteFunc(args, func(a string) bool { return a == "-bg_dummy_disabled" })
	if perIP {
		args = append(args, "-t", "ui", "-ip_field", "1")
	} else {
		args = append(args, "-i", hostSideIP)
	}
	if rate > 0 {
		args = append(args, "-r", strconv.Itoa(rate))
	} else {
		// Closed loop: at most 256 outstanding, so the rate is what the
		// server answers, not a retransmission storm of sipp's making.
		args = append(args, "-r", "1000000", "-l", "256")
	}
	t0 := time.Now()
	s.output(ctx, bound+30*time.Second, phNS, args...) // non-zero when calls failed: the counts say so
	r := sippResult{elapsed: time.Since(t0)}
	if err := r.readStat(stat); err != nil {
		return r, err
	}
	rtts, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	var lat []float64
	for _, f := range rtts {
		raw, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Split(line, ";")
			if len(f) >= 2 {
				if v, err := strconv.ParseFloat(f[1], 64); err == nil {
					lat = append(lat, v)
				}
			}
		}
	}
	r.p50, r.p99 = pct(lat, 50), pct(lat, 99)
	return r, nil
}

// readStat takes the counts from sipp's last statistics line, and the
// elapsed time between its first and last call when it ran long enough.
func (r *sippResult) readStat(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("sipp statistics: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) < 2 {
		return errors.New("sipp statistics: no data")
	}
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				n, _ := strconv.Atoi(last[i])
				return n
			}
		}
		return 0
	}
	r.ok, r.failed, r.retrans = get("SuccessfulCall(C)"), get("FailedCall(C)"), get("Retransmissions(C)")
	for i, h := range head {
		if h == "ElapsedTime(C)" && i < len(last) {
			if d, ok := parseSippDuration(last[i]); ok && d > 0 {
				r.elapsed = d
			}
		}
	}
	return nil
}

var sippDur = regexp.MustCompile(`^(\d+):(\d+):(\d+):(\d+)$`)

// parseSippDuration reads sipp's "HH:MM:SS:mmm".
func parseSippDuration(v string) (time.Duration, bool) {
	m := sippDur.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, false
	}
	n := func(i int) time.Duration { x, _ := strconv.Atoi(m[i]); return time.Duration(x) }
	return n(1)*time.Hour + n(2)*time.Minute + n(3)*time.Second + n(4)*time.Millisecond, true
}

// medianRate is the run with the median rate and, for more than one run,
// the range of the rates (" ; runs a–b/s").
func medianRate(runs []sippResult) (sippResult, string) {
	if len(runs) == 0 {
		return sippResult{}, ""
	}
	sorted := sortedBy(runs, sippResult.rate)
	if len(sorted) == 1 {
		return sorted[0], ""
	}
	return sorted[len(sorted)/2], fmt.Sprintf("; runs %.0f–%.0f/s", sorted[0].rate(), sorted[len(sorted)-1].rate())
}

// sipThroughput: SUBSCRIBE answers per second from one sipp with distinct
// MACs, pnpd with and without its per-source limit, Kamailio in the same
// run; and the storms again from sipp with one socket per phone address.
func (s *suite) sipThroughput(ctx context.Context) error {
	calls, bound := 60000, 20*time.Second
	if s.smoke {
		calls, bound = 200, 5*time.Second
	}
	// One sipp saturates near what either server answers here, so one run
	// mostly measures the neighbours: the row is the median of runs that
	// alternate between the two servers.
	runs := 3
	if s.smoke {
		runs = 1
	}
	var prs, krs []sippResult
	what := "SUBSCRIBE answers/s, one sipp, distinct MACs, `-sip-source-rate 0`"
	for i := range runs {
		if s.refs {
			kam, err := s.startKamailio()
			if err != nil {
				return err
			}
			kr, err := s.sipp(ctx, kamailioAddr, calls, 0, false, bound)
			kam.stop()
			if err != nil {
				return err
			}
			krs = append(krs, kr)
		}
		d, err := s.freshPnpd(ctx, fmt.Sprintf("sipp-off%d", i), "-sip-source-rate", "0")
		if err != nil { // a pnpd from before the flag: say so, measure the rest
			s.rep.add("sip", row{what: what, pnpd: "cannot be run: " + err.Error()})
			break
		}
		pr, err := s.sipp(ctx, boxIP+":5060", calls, 0, false, bound)
		d.stop()
		if err != nil {
			return err
		}
		if s.smoke && (pr.ok != calls || pr.failed != 0) {
			return fmt.Errorf("smoke sipp: %d/%d answered, %d failed", pr.ok, calls, pr.failed)
		}
		prs = append(prs, pr)
	}
	fmtR := func(r sippResult) string {
		if r.elapsed == 0 {
			return ""
		}
		return fmt.Sprintf("%.0f/s (%d ok, %d failed, %d retransmitted, p99 %s)", r.rate(), r.ok, r.failed, r.retrans, ms(r.p99))
	}
	kr, krange := medianRate(krs)
	if len(prs) > 0 {
		pr, prange := medianRate(prs)
		if len(prs) > 1 {
			what += fmt.Sprintf(" (median of %d runs, alternating with Kamailio)", len(prs))
		}
		s.rep.add("sip", row{what: what, pnpd: fmtR(pr) + prange, ref: fmtR(kr) + krange, ratio: ratio(pr.rate(), kr.rate(), "")})
	}
	d, err := s.freshPnpd(ctx, "sipp-on")
	if err != nil {
		return err
	}
	lim := 2000
	if s.smoke {
		lim = 30 // inside the burst: seconds, not the limit's pace
	}
	pl, err := s.sipp(ctx, boxIP+":5060", lim, 0, false, 10*time.Second)
	d.stop()
	if err != nil {
		return err
	}
	s.rep.add("sip", row{what: "the same, default `-sip-source-rate 20` (one host is one source)", pnpd: fmtR(pl), ref: fmtR(kr),
		ratio: ratio(pl.rate(), kr.rate(), "")})

	if s.smoke || !s.refs {
		return nil
	}
	for _, st := range []struct{ n, rate int }{{1000, 1000}, {1000, 500}, {2000, 1000}} {
		what := fmt.Sprintf("%d phones booting within %d s (sipp, a socket per phone address)", st.n, st.n/st.rate)
		d, err := s.freshPnpd(ctx, fmt.Sprintf("sippstorm%d-%d", st.n, st.rate))
		if err != nil {
			return err
		}
		r, err := s.sipp(ctx, boxIP+":5060", st.n, st.rate, true, 20*time.Second)
		recorded := 0
		if ps, err := d.phones(); err == nil {
			recorded = len(ps)
		}
		d.stop()
		if err != nil {
			return err
		}
		kam, err := s.startKamailio()
		if err != nil {
			return err
		}
		k, err := s.sipp(ctx, kamailioAddr, st.n, st.rate, true, 20*time.Second)
		kam.stop()
		if err != nil {
			return err
		}
		f := func(r sippResult, rec string) string {
			return fmt.Sprintf("%d/%d answered, %d retransmissions, p50 %s, p99 %s%s", r.ok, st.n, r.retrans, ms(r.p50), ms(r.p99), rec)
		}
		s.rep.add("storm", row{what: what, pnpd: f(r, fmt.Sprintf("; %d recorded", recorded)), ref: f(k, ""), ratio: ratio(k.p99, r.p99, "p99 ")})
	}
	return nil
}
