package provision

import (
	"io"
	"slices"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/assigncsv"
)

// ExportOptions choose what ExportCSV writes.
type ExportOptions struct {
	// Passwords writes the SIP passwords; without it the column is empty
	// (and importing the file keeps the stored ones).
	Passwords bool
	// Unassigned adds a row (MAC and model only) for every phone without
	// an assignment, for the installer to fill in and import.
	Unassigned bool
}

// ExportCSV writes every assignment (by MAC) as CSV: importing the file
// again changes nothing. Accounts 2 onwards and raw P-values have no
// column; an import keeps them.
func (c *Coordinator) ExportCSV(w io.Writer, opt ExportOptions) error {
	c.mu.Lock()
	rows := make([]assigncsv.ExportRow, 0, len(c.assignments))
	seen := map[appliance.MAC]bool{}
	for m, a := range c.assignments {
		a := a
		rows = append(rows, assigncsv.ExportRow{MAC: m, Assignment: &a})
		seen[m] = true
	}
	if opt.Unassigned {
		for m, p := range c.phones {
			if !seen[m] && !appliance.MatchMAC(c.settings.DenyMACs, m) {
				rows = append(rows, assigncsv.ExportRow{MAC: m, Model: p.Model})
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(rows, func(a, b assigncsv.ExportRow) int { return strings.Compare(a.MAC.String(), b.MAC.String()) })
	cw, err := assigncsv.NewWriter(w, opt.Passwords)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	return cw.Flush()
}
