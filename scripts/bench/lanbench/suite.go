package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

type suite struct {
	*lan
	smoke  bool
	refs   bool // run the reference servers (Kamailio, nginx) too
	rep    *report
	failed []string
}

func runSuite(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	out := fs.String("out", "out/bench.md", "markdown report")
	bin := fs.String("bin", "bin", "directory holding pnpd and phonesim")
	smoke := fs.Bool("smoke", false, "a few seconds: every scenario once at a tiny size, no timed targets")
	only := fs.String("only", "", "comma-separated scenarios to run (storm,sipp,http,flood,footprint); default all")
	arm64 := fs.String("arm64", "", "the stripped static arm64 pnpd, for its size")
	gobench := fs.String("gobench", "", "go test -bench output to include")
	refs := fs.Bool("refs", true, "run the reference servers (Kamailio, nginx, wrk) beside pnpd")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces)")
	}
	// The LAN's namespaces, uplink and addresses have fixed names: a second
	// run (make bench beside make test's smoke run) waits for the first
	// instead of tearing its LAN down under it.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "pnpbench.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	work, err := os.MkdirTemp("", "pnpbench.")
	if err != nil {
		return err
	}
	defer func() {
		if os.Getenv("LANBENCH_KEEP") == "" { // LANBENCH_KEEP=1 keeps pnpd's logs for a look
			os.RemoveAll(work)
		}
	}()
	os.Chmod(work, 0o755) // nginx's workers run unprivileged
	logf, err := os.Create(filepath.Join(filepath.Dir(*out), "bench.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	binAbs, _ := filepath.Abs(*bin)
	s := &suite{lan: &lan{bin: binAbs, work: work, log: logf}, smoke: *smoke, refs: *refs, rep: newReport(*smoke)}
	defer s.teardown()
	phones := 2000
	if s.smoke {
		phones = 20
	}
	if err := s.setup(ctx, phones); err != nil {
		return err
	}
	want := func(name string) bool {
		return *only == "" || slices.Contains(strings.Split(*only, ","), name)
	}
	type step struct {
		name string
		fn   func(context.Context) error
	}
	for _, st := range []step{
		{"storm", s.storms},
		{"sipp", s.sipThroughput},
		{"http", s.downloads},
		{"flood", s.floods},
		{"footprint", s.footprint},
	} {
		if !want(st.name) || ctx.Err() != nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "lanbench: %s…\n", st.name)
		if err := st.fn(ctx); err != nil {
			s.failed = append(s.failed, fmt.Sprintf("%s: %v", st.name, err))
			fmt.Fprintf(os.Stderr, "lanbench: %s: %v\n", st.name, err)
		}
	}
	if *arm64 != "" {
		if fi, err := os.Stat(*arm64); err == nil {
			s.rep.add("footprint", row{what: "stripped static arm64 binary", pnpd: fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20))})
		}
	}
	if *gobench != "" {
		if b, err := os.ReadFile(*gobench); err == nil {
			s.rep.goBench = string(b)
		}
	}
	s.rep.failed = s.failed
	if err := os.WriteFile(*out, []byte(s.rep.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "lanbench: wrote %s\n", *out)
	if len(s.failed) > 0 {
		return fmt.Errorf("%d scenario(s) failed: %s", len(s.failed), strings.Join(s.failed, "; "))
	}
	return nil
}

// freshPnpd starts pnpd on an empty data directory.
func (s *suite) freshPnpd(ctx context.Context, name string, extra ...string) (*pnpd, error) {
	data := filepath.Join(s.work, name)
	os.RemoveAll(data)
	return s.startPnpd(ctx, data, extra...)
}
