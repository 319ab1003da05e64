package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// downloads: wrk -c64 over 100 phones' config files, pnpd and nginx
// serving the same bytes.
func (s *suite) downloads(ctx context.Context) error {
	if !s.refs {
		return errors.New("downloads need wrk and nginx: run with -refs")
	}
	n, dur := 100, "10s"
	if s.smoke {
		n, dur = 5, "1s"
	}
	d, err := s.freshPnpd(ctx, "http")
	if err != nil {
		return err
	}
	defer d.stop()
	if err := d.do("PUT", "/api/settings", "application/json", `{"sip_server":"pbx.example.com"}`, nil); err != nil {
		return err
	}
	if err := d.stageCSV(0x000B82400000, n); err != nil {
		return err
	}
	ps, err := d.phones()
	if err != nil {
		return err
	}
	root := filepath.Join(s.work, "www")
	var paths []string
	for _, p := range ps {
		if p.ConfigURL == "" {
			continue
		}
		i := strings.Index(p.ConfigURL, "/p/")
		path := p.ConfigURL[i:]
		body, err := s.output(ctx, 10*time.Second, phNS, "curl", "-sfS", fmt.Sprintf("http://%s:%d%s", boxIP, httpPort, path))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(path)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(body), 0o644); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	if len(paths) != n {
		return fmt.Errorf("%d config URLs for %d phones", len(paths), n)
	}
	lua := filepath.Join(s.work, "paths.lua")
	var b strings.Builder
	b.WriteString("local paths = {\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "  %q,\n", p)
	}
	b.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
	if err := os.WriteFile(lua, []byte(b.String()), 0o644); err != nil {
		return err
	}
	// Runs alternate between pnpd and nginx, as the SIP throughput does:
	// one 10 s run mostly measures the neighbours on a shared machine. The
	// row shows each server's median rate and median p99 with their ranges;
	// every run's downloads must be recorded.
	reps := 3
	if s.smoke {
		reps = 1
	}
	var pws, nws []wrkResult
	recorded, counted := 0, 0
	for range reps {
		before, err := d.downloads()
		if err != nil {
			return err
		}
		pw, err := s.wrk(ctx, fmt.Sprintf("http://%s:%d", boxIP, httpPort), lua, dur)
		if err != nil {
			return err
		}
		after, err := d.downloads()
		if err != nil {
			return err
		}
		recorded, counted = recorded+after-before, counted+pw.requests
		pws = append(pws, pw)
		ng, err := s.startNginx(root)
		if err != nil {
			return err
		}
		nw, err := s.wrk(ctx, fmt.Sprintf("http://%s:%d", boxIP, nginxPort), lua, dur)
		ng.stop()
		if err != nil {
			return err
		}
		nws = append(nws, nw)
	}
	pw, prange := medianWrk(pws)
	nw, nrange := medianWrk(nws)
	what := fmt.Sprintf("config downloads/s, `wrk -t2 -c64 -d%s` over %d phones' files", dur, n)
	if reps > 1 {
		what += fmt.Sprintf(" (medians of %d runs, alternating with nginx)", reps)
	}
	s.rep.add("http", row{what: what,
		pnpd: pw.fmt(pw) + prange + fmt.Sprintf("; %d recorded (wrk counted %d)", recorded, counted), ref: nw.fmt(nw) + nrange, ratio: ratio(pw.rps, nw.rps, "")})
	if s.smoke && (pw.requests == 0 || pw.non2xx > 0) {
		return fmt.Errorf("smoke downloads: %d requests, %d not 2xx", pw.requests, pw.non2xx)
	}
	return nil
}

// medianWrk is the median rate and, on its own, the median p99 of runs,
// with the ranges of both ("" for one run).
func medianWrk(runs []wrkResult) (wrkResult, string) {
	if len(runs) == 1 {
		return runs[0], ""
	}
	byRate := sortedBy(runs, func(r wrkResult) float64 { return r.rps })
	byP99 := sortedBy(runs, func(r wrkResult) float64 { return r.p99 })
	m := byRate[len(runs)/2]
	m.p99 = byP99[len(runs)/2].p99
	for _, r := range runs {
		m.non2xx, m.errs = max(m.non2xx, r.non2xx), max(m.errs, r.errs)
	}
	return m, fmt.Sprintf("; runs %.0f–%.0f/s, p99 %s–%s", byRate[0].rps, byRate[len(runs)-1].rps, ms(byP99[0].p99), ms(byP99[len(runs)-1].p99))
}

type wrkResult struct {
	rps          float64
	p50, p99     float64
	requests     int
	non2xx, errs int
}

func (wrkResult) fmt(r wrkResult) string {
	e := ""
	if r.non2xx+r.errs > 0 {
		e = fmt.Sprintf(", %d failed", r.non2xx+r.errs)
	}
	return fmt.Sprintf("%.0f/s, p50 %s, p99 %s%s", r.rps, ms(r.p50), ms(r.p99), e)
}

var (
	wrkRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkLat  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)`)
	wrkReqs = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2 = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func (s *suite) wrk(ctx context.Context, url, lua, dur string) (wrkResult, error) {
	out, err := s.output(ctx, time.Minute, phNS, "wrk", "-t2", "-c64", "-d"+dur, "--latency", "-s", lua, url)
	if err != nil {
		return wrkResult{}, err
	}
	var r wrkResult
	if m := wrkRPS.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := wrkReqs.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkNon2.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkErrs.FindStringSubmatch(out); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.Atoi(v)
			r.errs += n
		}
	}
	for _, m := range wrkLat.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if m[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	return r, nil
}

func (s *suite) startNginx(root string) (*proc, error) {
	tmpl, err := os.ReadFile("scripts/bench/nginx.conf")
	if err != nil {
		return nil, err
	}
	cfg := strings.NewReplacer("LISTEN", fmt.Sprintf("%s:%d", boxIP, nginxPort), "ROOT", root,
		"PIDFILE", filepath.Join(s.work, "nginx.pid")).Replace(string(tmpl))
	path := filepath.Join(s.work, "nginx.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	p, err := s.start("nginx", boxNS, "nginx", "-c", path, "-e", "stderr")
	if err != nil {
		return nil, err
	}
	for range 100 {
		if _, err := s.output(context.Background(), 5*time.Second, phNS, "curl", "-s", "-o", "/dev/null", fmt.Sprintf("http://%s:%d/", boxIP, nginxPort)); err == nil {
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("nginx did not come up")
}
