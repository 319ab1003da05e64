package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// footprint: RSS idle, RSS and start-to-ready with 10,000 phones.
func (s *suite) footprint(ctx context.Context) error {
	n := 10000
	if s.smoke {
		n = 100
	}
	settle, restarts := time.Second, 3
	if s.smoke {
		settle, restarts = 0, 1
	}
	d, err := s.freshPnpd(ctx, "footprint")
	if err != nil {
		return err
	}
	time.Sleep(settle)
	idle := rssKiB(d.pid())
	coldReady := d.ready
	if err := d.stageCSV(0x000B82600000, n); err != nil {
		d.stop()
		return err
	}
	loaded := rssKiB(d.pid())
	d.stop()
	// Start again on the same data: what a reboot with a full office costs.
	var readies []time.Duration
	var rss int
	for range restarts {
		d, err = s.startPnpd(ctx, d.data)
		if err != nil {
			return err
		}
		readies = append(readies, d.ready)
		time.Sleep(settle)
		if _, err := d.phones(); err != nil { // touch what the page would
			d.stop()
			return err
		}
		rss = max(rss, rssKiB(d.pid()))
		d.stop()
	}
	slices.Sort(readies)
	s.rep.add("footprint", row{what: "RSS idle (empty store), after start", pnpd: mib(idle)})
	s.rep.add("footprint", row{what: "start to `/healthz` 200, empty store", pnpd: coldReady.Round(time.Millisecond).String()})
	s.rep.add("footprint", row{what: fmt.Sprintf("RSS with %d pre-staged phones, after the import", n), pnpd: mib(loaded)})
	s.rep.add("footprint", row{what: fmt.Sprintf("RSS with %d phones after a restart and one phone list", n), pnpd: mib(rss)})
	s.rep.add("footprint", row{what: fmt.Sprintf("start to `/healthz` 200 with %d phones (median of %d)", n, len(readies)), pnpd: readies[len(readies)/2].Round(time.Millisecond).String()})
	return nil
}

func mib(kib int) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
