package provision

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/assigncsv"
	"github.com/pnpbox/pnpbox/appliance/profile"
	"github.com/pnpbox/pnpbox/appliance/store"
)

// ImportResult is what an import did, or would do (DryRun).
type ImportResult struct {
	DryRun    bool `json:"dry_run"`
	Rows      int  `json:"rows"`
	Created   int  `json:"created"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
	// Skipped rows hold a MAC (and maybe a model) but no assignment: a
	// phone listed for the installer to fill in. Importing them changes
	// nothing; it never removes an assignment.
	Skipped int            `json:"skipped"`
	Changes []ImportChange `json:"changes"`
}

// ImportChange is one assignment an import creates or changes. Fields
// names what changes; a password is named, never shown.
type ImportChange struct {
	Line   int           `json:"line"`
	MAC    appliance.MAC `json:"mac"`
	Action string        `json:"action"` // create or update
	Fields []string      `json:"fields,omitempty"`
}

// ImportError rejects a whole file: every bad row, with its line and why.
type ImportError struct {
	Rows []assigncsv.RowError
}

func (e *ImportError) Error() string {
	if len(e.Rows) == 1 {
		r := e.Rows[0]
		return fmt.Sprintf("line %d: %s; nothing was imported", r.Line, r.Error)
	}
	return fmt.Sprintf("%d rows are invalid; nothing was imported", len(e.Rows))
}

// maxReportedRows bounds the errors one answer lists.
const maxReportedRows = 1000

// ImportCSV imports assignments from a CSV file (assigncsv's format): all
// or nothing. Every row is checked (MAC, required fields, the same checks
// as a single assignment, model limits, duplicate MACs and extensions in
// the file and against assignments of phones the file does not list);
// any bad row rejects the file with an *ImportError listing every bad row.
// A good file is committed in one transaction. With dryRun nothing is
// written; the result says what would change.
func (c *Coordinator) ImportCSV(r io.Reader, dryRun bool) (ImportResult, error) {
	file, err := assigncsv.Read(r)
	if err != nil {
		line, msg := splitLine(err.Error())
		return ImportResult{}, &ImportError{Rows: []assigncsv.RowError{{Line: line, Error: msg}}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	res := ImportResult{DryRun: dryRun, Rows: len(file.Rows) + len(file.Errors), Changes: []ImportChange{}}
	bad := append([]assigncsv.RowError(nil), file.Errors...)
	badRow := func(row assigncsv.Row, mac string, err error) {
		re := assigncsv.RowError{Line: row.Line, MAC: mac, Error: err.Error()}
		var fe *appliance.FieldError
		if errors.As(err, &fe) {
			re.Field, re.Error = fe.Field, fe.Msg
		}
		bad = append(bad, re)
	}

	type planned struct {
		row    assigncsv.Row
		mac    appliance.MAC
		a      appliance.Assignment
		change *ImportChange
	}
	var plan []planned
	lineOfMAC := map[appliance.MAC]int{}
	for _, row := range file.Rows {
		raw := row.Get(assigncsv.ColMAC)
		m, err := appliance.ParseMAC(raw)
		if err != nil {
			badRow(row, raw, &appliance.FieldError{Field: assigncsv.ColMAC, Msg: err.Error()})
			continue
		}
		if first, dup := lineOfMAC[m]; dup {
			badRow(row, raw, &appliance.FieldError{Field: assigncsv.ColMAC, Msg: fmt.Sprintf("%s is also on line %d", m, first)})
			continue
		}
		lineOfMAC[m] = row.Line
		if row.Blank() {
			res.Skipped++
			continue
		}
		if appliance.MatchMAC(c.settings.DenyMACs, m) {
			badRow(row, raw, &appliance.FieldError{Field: assigncsv.ColMAC, Msg: ErrDenied.Error()})
			continue
		}
		old, had := c.assignments[m]
		a := old
		if had { // Apply replaces these; keep the stored slices intact
			a.Codecs, a.Keys = slices.Clone(old.Codecs), slices.Clone(old.Keys)
		}
		if err := row.Apply(&a); err != nil {
			badRow(row, raw, err)
			continue
		}
		if a.Extension == "" && !file.Has(assigncsv.ColExtension) {
			badRow(row, raw, &appliance.FieldError{Field: assigncsv.ColExtension, Msg: "required (the file has no extension column)"})
			continue
		}
		a, err = a.Normalize()
		if err != nil {
			badRow(row, raw, err)
			continue
		}
		if a.Password == "" {
			badRow(row, raw, &appliance.FieldError{Field: assigncsv.ColPassword, Msg: "required for a phone without an assignment"})
			continue
		}
		model := a.Model
		if p := c.phones[m]; p != nil && p.Model != "" {
			model = p.Model
		}
		if err := profile.Validate(a, model); err != nil {
			badRow(row, raw, err)
			continue
		}
		pl := planned{row: row, mac: m, a: a}
		if !had {
			pl.change = &ImportChange{Line: row.Line, MAC: m, Action: "create"}
		} else if fields := changedFields(old, a); len(fields) > 0 {
			pl.change = &ImportChange{Line: row.Line, MAC: m, Action: "update", Fields: fields}
		}
		plan = append(plan, pl)
	}

	// Extensions: unique within the file, and not held by a phone the file
	// does not list. Keyed by server, since one extension on two PBXs is
	// two accounts.
	type holder struct {
		line int
		mac  appliance.MAC
	}
	inPlan := make(map[appliance.MAC]bool, len(plan))
	for _, pl := range plan {
		inPlan[pl.mac] = true
	}
	held := map[string]holder{}
	for m, a := range c.assignments {
		if inPlan[m] {
			continue // replaced by its row (which carries the kept extra accounts)
		}
		for _, k := range c.extensionKeys(a) {
			held[k] = holder{mac: m}
		}
	}
	for _, pl := range plan {
		for i, k := range c.extensionKeys(pl.a) {
			h, taken := held[k]
			if !taken || h.mac == pl.mac {
				held[k] = holder{line: pl.row.Line, mac: pl.mac}
				continue
			}
			what := "extension " + pl.a.Extension
			if i > 0 {
				what = fmt.Sprintf("extension %s (account %d, kept from the stored assignment)", pl.a.Accounts[i-1].Extension, i+1)
			}
			where := fmt.Sprintf("is already assigned to %s, which this file does not list", h.mac)
			if h.line > 0 {
				where = fmt.Sprintf("is also on line %d", h.line)
			}
			badRow(pl.row, pl.mac.String(), &appliance.FieldError{Field: assigncsv.ColExtension, Msg: what + " " + where})
			break
		}
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(a, b assigncsv.RowError) int { return a.Line - b.Line })
		if len(bad) > maxReportedRows {
			bad = append(bad[:maxReportedRows], assigncsv.RowError{Error: fmt.Sprintf("… and %d more bad rows", len(bad)-maxReportedRows)})
		}
		return res, &ImportError{Rows: bad}
	}

	w := store.Write{Assignments: map[appliance.MAC]appliance.Assignment{}}
	newTokens := map[string]bool{}
	phones := map[appliance.MAC]appliance.Phone{}
	for _, pl := range plan {
		if pl.change == nil {
			res.Unchanged++
			continue
		}
		res.Changes = append(res.Changes, *pl.change)
		if pl.change.Action == "create" {
			res.Created++
		} else {
			res.Updated++
		}
		if dryRun {
			continue
		}
		np, evs := c.assignedPhoneLocked(pl.mac, fmt.Sprintf("extension %s (CSV import, line %d)", pl.a.Extension, pl.row.Line), newTokens)
		phones[pl.mac] = np
		w.Phones = append(w.Phones, np)
		w.Assignments[pl.mac] = pl.a
		w.Events = append(w.Events, evs...)
	}
	if dryRun || len(w.Assignments) == 0 {
		return res, nil
	}
	w.Events = append(w.Events, event(appliance.MAC{}, appliance.EventImport,
		fmt.Sprintf("CSV import: %d rows, %d created, %d updated, %d unchanged, %d without an assignment", res.Rows, res.Created, res.Updated, res.Unchanged, res.Skipped)))
	if err := c.commitLocked(w); err != nil {
		return res, err
	}
	for m, np := range phones {
		c.setAssignmentLocked(m, w.Assignments[m])
		c.putPhoneLocked(np)
	}
	c.log.Info("CSV import", "rows", res.Rows, "created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged)
	if c.settings.ProvisionMode == appliance.ModeAuto {
		for _, m := range c.sortedMACsLocked() {
			if _, changed := phones[m]; changed && c.canNotifyLocked(c.phones[m]) == nil {
				c.startNotifyLocked(c.phones[m], "auto mode")
			}
		}
	}
	return res, nil
}

// extensionKeys are the accounts of a as "server\x00extension", the
// server being the site's when the assignment names none.
func (c *Coordinator) extensionKeys(a appliance.Assignment) []string {
	server := a.SIPServer
	if server == "" {
		server = c.settings.SIPServer
	}
	keys := []string{strings.ToLower(server) + "\x00" + a.Extension}
	for _, acc := range a.Accounts {
		s := acc.SIPServer
		if s == "" {
			s = server
		}
		keys = append(keys, strings.ToLower(s)+"\x00"+acc.Extension)
	}
	return keys
}

// changedFields names the CSV columns whose values differ between a and b
// (and "accounts"/"p_values" should they, though an import keeps those).
func changedFields(a, b appliance.Assignment) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add(assigncsv.ColExtension, a.Extension != b.Extension)
	add(assigncsv.ColPassword, a.Password != b.Password)
	add(assigncsv.ColDisplayName, a.DisplayName != b.DisplayName)
	add(assigncsv.ColAuthID, a.AuthID != b.AuthID)
	add(assigncsv.ColSIPServer, a.SIPServer != b.SIPServer)
	add(assigncsv.ColCodecs, !slices.Equal(a.Codecs, b.Codecs))
	add(assigncsv.ColKeys, !slices.Equal(a.Keys, b.Keys))
	add(assigncsv.ColModel, a.Model != b.Model)
	if len(out) == 0 && !equalAssignments(a, b) {
		out = append(out, "accounts")
	}
	return out
}

// lineRE matches the "line N: " or "line N, " that assigncsv.Read's
// errors start with.
var lineRE = regexp.MustCompile(`^line (\d+)(: |, )`)

// splitLine takes the line number off an assigncsv.Read error: the answer
// has it in its own field.
func splitLine(msg string) (int, string) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	n, _ := strconv.Atoi(m[1])
	return n, msg[len(m[0]):]
}
