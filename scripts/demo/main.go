// Command demo drives `make demo` once pnpd is up: it pre-stages an
// account for each simulated phone, starts the fleet (the command after
// "--"), waits until every phone has announced itself, presses the
// simulated button, and waits until every phone has downloaded its config
// twice (NOTIFY → download → reboot → download again).
//
//	go run ./scripts/demo -base http://127.0.0.1:8080 -password pw -phones 20 -first-mac 000B82D00001 -- bin/phonesim …
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/internal/apiclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type phone struct {
	MAC       string `json:"mac"`
	IP        string `json:"ip"`
	State     string `json:"state"`
	Downloads int    `json:"downloads"`
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	base := fs.String("base", "http://127.0.0.1:8080", "pnpd's address")
	password := fs.String("password", "", "admin password")
	n := fs.Int("phones", 20, "fleet size")
	firstMAC := fs.String("first-mac", "000B82D00001", "first phone's MAC")
	auto := fs.Bool("auto", false, "provision_mode auto instead of a button press (every phone NOTIFYed as it boots)")
	stats := fs.Bool("stats", false, "the fleet prints JSON (phonesim -json): summarise its timings instead of passing it through")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fleet := fs.Args()
	if len(fleet) == 0 {
		return errors.New("no phonesim command after --")
	}
	first, err := appliance.ParseMAC(*firstMAC)
	if err != nil {
		return err
	}
	a := &apiclient.Client{Base: *base, Password: *password, HTTP: &http.Client{Timeout: 10 * time.Second}}

	if err := wait(ctx, time.Minute, "pnpd to answer /healthz", func() (bool, string) {
		return a.Expect(ctx, "GET", "/healthz", "", nil) == nil, ""
	}); err != nil {
		return err
	}
	mode := "button"
	if *auto {
		mode = "auto"
	}
	settings := fmt.Sprintf(`{"sip_server":"pbx.example.com","provision_mode":%q,"timezone":"CET-1CEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00","ntp_server":"pool.ntp.org"}`, mode)
	if err := a.Expect(ctx, "PUT", "/api/settings", settings, nil); err != nil {
		return err
	}
	for i := range *n {
		m := macPlus(first, i)
		body := fmt.Sprintf(`{"extension":"%d","password":"demo-%d-%s","display_name":"Desk %d","codecs":["G722","PCMU","PCMA"]}`,
			201+i, 201+i, m.Lower()[6:], i+1)
		if err := a.Expect(ctx, "PUT", "/api/phones/"+m.String()+"/assignment", body, nil); err != nil {
			return err
		}
	}
	fmt.Printf("demo: pre-staged extensions 201-%d for %d phones\n", 200+*n, *n)

	start := time.Now()
	sim := exec.CommandContext(ctx, fleet[0], fleet[1:]...)
	var simOut strings.Builder
	sim.Stdout, sim.Stderr = os.Stdout, os.Stderr
	if *stats {
		sim.Stdout = &simOut
	}
	if err := sim.Start(); err != nil {
		return fmt.Errorf("start the fleet: %w", err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Wait() }()
	simExited := func() error {
		select {
		case err := <-simDone:
			simDone <- err
			return fmt.Errorf("the fleet exited early (%v)", err)
		default:
			return nil
		}
	}

	phones := func() []phone {
		var ps []phone
		a.Expect(ctx, "GET", "/api/phones", "", &ps)
		return ps
	}
	count := func(ok func(phone) bool) int {
		k := 0
		for _, p := range phones() {
			if ok(p) {
				k++
			}
		}
		return k
	}
	if err := wait(ctx, 2*time.Minute, "every phone to announce itself", func() (bool, string) {
		k := count(func(p phone) bool { return p.IP != "" })
		return k == *n, fmt.Sprintf("%d/%d phones seen", k, *n)
	}); err != nil {
		if e := simExited(); e != nil {
			return e
		}
		return err
	}
	if !*auto {
		fmt.Println("demo: pressing the button (provision all pending)")
		if err := a.Expect(ctx, "POST", "/api/button", `{"hold_ms":100}`, nil); err != nil {
			return err
		}
	}
	if err := wait(ctx, 3*time.Minute, "every phone to download its config twice", func() (bool, string) {
		k := count(func(p phone) bool { return p.State == "provisioned" && p.Downloads >= 2 })
		return k == *n, fmt.Sprintf("%d/%d phones provisioned", k, *n)
	}); err != nil {
		return err
	}
	select {
	case err := <-simDone:
		if err != nil {
			return fmt.Errorf("phonesim: %w", err)
		}
	case <-time.After(30 * time.Second):
		sim.Process.Signal(os.Interrupt)
		<-simDone
	}
	fmt.Printf("demo: %d/%d phones provisioned\n", *n, *n)
	if *stats {
		return summarise(simOut.String(), time.Since(start))
	}
	return nil
}

// macPlus returns m + i, counting the MAC as a 48-bit number.
func macPlus(m appliance.MAC, i int) appliance.MAC {
	var v uint64
	for _, b := range m {
		v = v<<8 | uint64(b)
	}
	v += uint64(i)
	for j := 5; j >= 0; j-- {
		m[j] = byte(v)
		v >>= 8
	}
	return m
}

// summarise prints what the phones saw, from phonesim's JSON report.
func summarise(report string, elapsed time.Duration) error {
	var rep struct {
		Provisioned int `json:"provisioned"`
		Total       int `json:"total"`
		Phones      []struct {
			Got200MS *float64 `json:"got_200_ms"`
			Tries    int      `json:"subscribe_tries"`
			NotifyMS *float64 `json:"notify_ms"`
		} `json:"phones"`
	}
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		return fmt.Errorf("phonesim report: %w", err)
	}
	var ok200, notify []float64
	retried := 0
	for _, p := range rep.Phones {
		if p.Got200MS != nil {
			ok200 = append(ok200, *p.Got200MS)
		}
		if p.NotifyMS != nil {
			notify = append(notify, *p.NotifyMS)
		}
		if p.Tries > 1 {
			retried++
		}
	}
	fmt.Printf("fleet: %d/%d provisioned in %.1fs; SUBSCRIBE→200 ms p50 %.1f p99 %.1f max %.1f; 200→NOTIFY ms p50 %.1f p99 %.1f max %.1f; %d phones needed more than one SUBSCRIBE\n",
		rep.Provisioned, rep.Total, elapsed.Seconds(), pct(ok200, 50), pct(ok200, 99), pct(ok200, 100),
		pct(notify, 50), pct(notify, 99), pct(notify, 100), retried)
	if rep.Provisioned != rep.Total {
		return fmt.Errorf("%d of %d phones not provisioned", rep.Total-rep.Provisioned, rep.Total)
	}
	return nil
}

func pct(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(i, len(s))-1)]
}

// wait polls cond every 250 ms, printing its progress when it changes.
func wait(ctx context.Context, d time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(d)
	last := ""
	for {
		ok, progress := cond()
		if progress != "" && progress != last {
			fmt.Println("demo:", progress)
			last = progress
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v waiting for %s (%s)", d, what, progress)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
