package provision

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
	"github.com/pnpbox/pnpbox/appliance/assigncsv"
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
	// Warnings are what the file does that is allowed but worth a look
	// (an extension several phones hold), by line; absent when none.
	Warnings []ImportWarning `json:"warnings,omitempty"`
}

// ImportWarning is one allowed but noteworthy thing a row does.
type ImportWarning struct {
	Line    int           `json:"line"`
	MAC     appliance.MAC `json:"mac"`
	Field   string        `json:"field"`
	Warning string        `json:"warning"`
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
// as a single assignment, the renderer's check, duplicate MACs in the
// file); an extension several phones hold is allowed and listed in
// Warnings, as the API does (SharedExtensions);
// any bad row rejects the file with an *ImportError listing every bad row.
// A good file is committed in one transaction. With dryRun nothing is
// written; the result says what would change.
func (c *Coordinator) ImportCSV(r io.Reader, dryRun bool) (ImportResult, error) {
	res, err := c.importCSV(r, dryRun)
	if res.Rows >= 1000 {
		// Reading, checking and writing thousands of rows leaves several
		// times the store's size in garbage: hand it back to the system
		// now (outside the lock), as New does after loading a large store,
		// so the box's resident size after an import is what it holds.
		releaseMemory()
	}
	return res, err
}

func (c *Coordinator) importCSV(r io.Reader, dryRun bool) (ImportResult, error) {
	file, err := assigncsv.Read(r)
	if err != nil {
		re := assigncsv.RowError{Error: err.Error()}
		if fe := (*assigncsv.Error)(nil); errors.As(err, &fe) {
			re.Line, re.Error = fe.Line, fe.Detail()
		}
		return ImportResult{}, &ImportError{Rows: []assigncsv.RowError{re}}
	}
	// Checking thousands of rows must not hold up discoveries: plan
	// against a copy, and plan again under the lock only if the
	// assignments or settings changed meanwhile.
	c.mu.Lock()
	base, gen := c.importBaseLocked(), c.gen
	c.mu.Unlock()
	plan, res, bad := planImport(file, base)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		plan, res, bad = planImport(file, c.importBaseLocked())
	}
	res.DryRun = dryRun
	if len(bad) > 0 {
		return res, &ImportError{Rows: bad}
	}
	if dryRun || res.Created+res.Updated == 0 {
		return res, nil
	}

	w := store.Write{Assignments: map[appliance.MAC]appliance.Assignment{}}
	newTokens := map[string]bool{}
	phones := map[appliance.MAC]appliance.Phone{}
	for _, pl := range plan {
		if pl.change == nil {
			continue
		}
		np, evs := c.assignedPhoneLocked(pl.mac, fmt.Sprintf("extension %s (CSV import, line %d)", pl.a.Extension, pl.line), newTokens)
		phones[pl.mac] = np
		w.Phones = append(w.Phones, np)
		w.Assignments[pl.mac] = pl.a
		w.Events = append(w.Events, evs...)
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

// importBase is what an import is checked against, copied so that the
// plan can be made outside the lock.
type importBase struct {
	site        appliance.Settings
	assignments map[appliance.MAC]appliance.Assignment
	models      map[appliance.MAC]string // the model each known phone reported
}

func (c *Coordinator) importBaseLocked() importBase {
	b := importBase{site: c.settings.Clone(), assignments: maps.Clone(c.assignments), models: map[appliance.MAC]string{}}
	for m, p := range c.phones {
		if p.Model != "" {
			b.models[m] = p.Model
		}
	}
	return b
}

// plannedRow is one row of a good file: the assignment it leaves phone
// mac with, and the change (nil: none).
type plannedRow struct {
	line   int
	mac    appliance.MAC
	a      appliance.Assignment
	change *ImportChange
}

// planImport decides what importing file over base does: every row's
// assignment with what it changes, counted in the result; or every bad
// row, sorted by line (then nothing may be imported). It is pure.
func planImport(file *assigncsv.File, base importBase) ([]plannedRow, ImportResult, []assigncsv.RowError) {
	res := ImportResult{Rows: len(file.Rows) + len(file.Errors), Changes: []ImportChange{}}
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
	site := base.site
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
		if appliance.MatchMAC(site.DenyMACs, m) {
			badRow(row, raw, &appliance.FieldError{Field: assigncsv.ColMAC, Msg: ErrDenied.Error()})
			continue
		}
		old, had := base.assignments[m]
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
		// The renderer's own check, as for an assignment through the API.
		if err := CheckRender(&appliance.Phone{MAC: m, Model: base.models[m]}, a, site); err != nil {
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

	// Extensions several phones hold: allowed, with a warning, by the
	// rule the API uses (SharedExtensions), against the assignments as
	// they would be after the import.
	after := maps.Clone(base.assignments)
	if after == nil {
		after = map[appliance.MAC]appliance.Assignment{}
	}
	for _, pl := range plan {
		after[pl.mac] = pl.a
	}
	ix := IndexExtensions(after, site)
	for _, pl := range plan {
		if len(bad) > 0 {
			break // the file is rejected: the rows' errors are the answer
		}
		for _, w := range ix.SharedExtensions(pl.mac, pl.a, site) {
			res.Warnings = append(res.Warnings, ImportWarning{Line: pl.row.Line, MAC: pl.mac, Field: assigncsv.ColExtension, Warning: w})
		}
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(a, b assigncsv.RowError) int { return a.Line - b.Line })
		if len(bad) > maxReportedRows {
			bad = append(bad[:maxReportedRows], assigncsv.RowError{Error: fmt.Sprintf("… and %d more bad rows", len(bad)-maxReportedRows)})
		}
		return nil, res, bad
	}
	out := make([]plannedRow, 0, len(plan))
	for _, pl := range plan {
		out = append(out, plannedRow{line: pl.row.Line, mac: pl.mac, a: pl.a, change: pl.change})
		switch {
		case pl.change == nil:
			res.Unchanged++
		case pl.change.Action == "create":
			res.Created++
			res.Changes = append(res.Changes, *pl.change)
		default:
			res.Updated++
			res.Changes = append(res.Changes, *pl.change)
		}
	}
	return out, res, nil
}

// extensionKeys are the accounts of a as "server\x00extension", the
// server being the site's when the assignment names none.
func extensionKeys(a appliance.Assignment, site appliance.Settings) []string {
	server := a.SIPServer
	if server == "" {
		server = site.SIPServer
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
// (and "accounts" should the rest differ, though an import keeps those).
func changedFields(a, b appliance.Assignment) []string {
	out := assigncsv.Changed(a, b)
	if len(out) == 0 && !equalAssignments(a, b) {
		out = append(out, "accounts")
	}
	return out
}
