package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// phonesimReport is the part of phonesim -json the bench reads.
type phonesimReport struct {
	Total       int `json:"total"`
	Provisioned int `json:"provisioned"`
	Phones      []struct {
		MAC       string `json:"mac"`
		Got200    bool   `json:"got_200"`
		Got200Try int    `json:"got_200_try"`
		Got200Ms  *int64 `json:"got_200_ms"`
		Got200Us  *int64 `json:"got_200_us"` // phonesim since it has it; else whole milliseconds
	} `json:"phones"`
}

type stormResult struct {
	n, firstTry, answered int
	p50, p99              float64 // ms, first SUBSCRIBE to its 200
}

func (r stormResult) String() string {
	return fmt.Sprintf("%d/%d first try, p50 %s, p99 %s", r.firstTry, r.n, ms(r.p50), ms(r.p99))
}

func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v < 0.1:
		return "<0.1 ms"
	case v < 1:
		return fmt.Sprintf("%.2f ms", v)
	case v < 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

// phonesim boots n phones spread over spread, SUBSCRIBEs to target
// ("" for the PnP group), and summarises what they saw.
func (s *suite) phonesim(ctx context.Context, n int, spread time.Duration, target string, first netip.Addr, firstMAC string, wait time.Duration) (stormResult, error) {
	args := []string{filepath.Join(s.bin, "phonesim"), "-n", strconv.Itoa(n), "-first-ip", first.String(),
		"-first-mac", firstMAC, "-iface", "lan0", "-spread", spread.String(), "-timeout", wait.String(), "-json", "-seed", "1"}
	if target != "" {
		args = append(args, "-target", target)
	}
	out, _ := s.output(ctx, wait+30*time.Second, phNS, args...) // exits 1 when phones are not provisioned
	var rep phonesimReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return stormResult{}, fmt.Errorf("phonesim report: %w", err)
	}
	r := stormResult{n: n}
	var lat []float64
	for _, p := range rep.Phones {
		if p.Got200 {
			r.answered++
		}
		if p.Got200Try == 1 {
			r.firstTry++
		}
		switch {
		case p.Got200Us != nil:
			lat = append(lat, float64(*p.Got200Us)/1000)
		case p.Got200Ms != nil:
			lat = append(lat, float64(*p.Got200Ms))
		}
	}
	r.p50, r.p99 = pct(lat, 50), pct(lat, 99)
	// Unanswered phones count as the whole wait in the tail.
	for range n - len(lat) {
		lat = append(lat, float64(wait.Milliseconds()))
	}
	r.p99 = pct(lat, 99)
	return r, nil
}

// medianRun is the run with the median p99, its first-try count
// replaced by the lowest of all runs.
func medianRun(runs []stormResult) stormResult {
	s := sortedBy(runs, func(r stormResult) float64 { return r.p99 })
	m := s[len(s)/2]
	for _, r := range runs {
		m.firstTry = min(m.firstTry, r.firstTry)
	}
	return m
}

// sortedBy is a copy of xs in increasing order of key.
func sortedBy[T any](xs []T, key func(T) float64) []T {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return s
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// storms: a floor powering back on. Phones boot with distinct addresses,
// multicast to pnpd; and, in the same run, unicast to Kamailio (stateless
// 200, the fastest SIP server at hand) and multicast to responder.py (a
// stateless Python PnP responder that records nothing, the kind of tool
// pnpd replaces).
func (s *suite) storms(ctx context.Context) error {
	type storm struct {
		n      int
		spread time.Duration
	}
	storms := []storm{{1000, time.Second}, {1000, 2 * time.Second}, {2000, time.Second}, {2000, 2 * time.Second}}
	wait := 6 * time.Second
	if s.smoke {
		storms, wait = []storm{{20, 200 * time.Millisecond}}, 1500*time.Millisecond
	}
	// Each storm runs reps times against each server, a fresh pnpd each
	// time; the row shows the run with the median p99 and the fewest
	// first-try answers of all, so one lucky or unlucky run on a shared
	// machine does not decide the ratio.
	reps := 3
	if s.smoke {
		reps = 1
	}
	for i, st := range storms {
		what := fmt.Sprintf("%d phones booting within %s (phonesim; median p99 of %d runs)", st.n, st.spread, reps)
		var runs, kruns, pyruns []stormResult
		recorded, dup := st.n, 0
		for rep := range reps {
			d, err := s.freshPnpd(ctx, fmt.Sprintf("storm%d-%d", i, rep))
			if err != nil {
				return err
			}
			r, err := s.phonesim(ctx, st.n, st.spread, "", phoneBase, "000B82100000", wait)
			if err != nil {
				d.stop()
				return err
			}
			runs = append(runs, r)
			// Every phone recorded once, in every run.
			ps, err := d.phones()
			d.stop()
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, p := range ps {
				if seen[p.MAC] {
					dup++
				}
				seen[p.MAC] = true
			}
			recorded = min(recorded, len(seen))
			if s.smoke && (r.answered != st.n || len(seen) != st.n || dup != 0) {
				return fmt.Errorf("smoke storm: %d/%d answered, %d recorded, %d twice", r.answered, st.n, len(seen), dup)
			}
			if s.refs {
				kam, err := s.startKamailio()
				if err != nil {
					return err
				}
				kr, err := s.phonesim(ctx, st.n, st.spread, kamailioAddr, phoneBase, "000B82100000", wait)
				kam.stop()
				if err != nil {
					return err
				}
				kruns = append(kruns, kr)
				py, err := s.startResponder()
				if err != nil {
					return err
				}
				pr, err := s.phonesim(ctx, st.n, st.spread, "", phoneBase, "000B82100000", wait)
				py.stop()
				if err != nil {
					return err
				}
				pyruns = append(pyruns, pr)
			}
		}
		r := medianRun(runs)
		x := row{what: what, pnpd: r.String() + fmt.Sprintf("; %d recorded, %d twice", recorded, dup)}
		if len(kruns) > 0 {
			kr := medianRun(kruns)
			x.ref, x.ratio = kr.String(), ratio(kr.p99, r.p99, "p99 ")
		}
		s.rep.add("storm", x)
		if len(pyruns) > 0 {
			pr := medianRun(pyruns)
			s.rep.add("stormpy", row{what: what, pnpd: x.pnpd, ref: pr.String(), ratio: ratio(pr.p99, r.p99, "p99 ")})
		}
	}
	if s.smoke {
		return nil
	}
	// Pre-staged, auto mode: every phone notified and downloading twice.
	d, err := s.freshPnpd(ctx, "stormauto")
	if err != nil {
		return err
	}
	defer d.stop()
	if err := d.do("PUT", "/api/settings", "application/json", `{"provision_mode":"auto","sip_server":"pbx.example.com"}`, nil); err != nil {
		return err
	}
	if err := d.stageCSV(0x000B82200000, 1000); err != nil {
		return err
	}
	t0 := time.Now()
	args := []string{filepath.Join(s.bin, "phonesim"), "-n", "1000", "-first-ip", phoneBase.String(), "-first-mac", "000B82200000",
		"-iface", "lan0", "-spread", "1s", "-timeout", "3m", "-json", "-seed", "1", "-reboot", "1s", "-linger", "0s"}
	out, _ := s.output(ctx, 4*time.Minute, phNS, args...)
	var rep phonesimReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return fmt.Errorf("phonesim report: %w", err)
	}
	s.rep.add("storm", row{what: "1000 pre-staged phones booting within 1s, auto mode: notified, downloaded twice",
		pnpd: fmt.Sprintf("%d/%d provisioned in %.1f s", rep.Provisioned, rep.Total, time.Since(t0).Seconds())})
	return nil
}
