package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/pnpbox/pnpbox/appliance/assigncsv"
	"github.com/pnpbox/pnpbox/appliance/provision"
)

type csvData struct {
	Name   string // the uploaded file's name
	Upload string // id of the checked file waiting for Import
	Bad    []assigncsv.RowError
	Result *provision.ImportResult
}

func (p *pages) csvPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := p.viewFor(s, "CSV", "csv")
	v.Data = csvData{}
	p.render(w, http.StatusOK, "csv", v.tmplView)
}

// csvCheck is the dry run: the file is checked and the report shown;
// nothing is written. A good file waits in the session for Import.
func (p *pages) csvCheck(w http.ResponseWriter, r *http.Request, s *session) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCSV+64<<10)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		p.csvResult(w, s, http.StatusBadRequest, csvData{}, "Choose a CSV file to upload ("+uploadProblem(err)+").")
		return
	}
	defer f.Close()
	body, err := io.ReadAll(f)
	if err != nil {
		p.csvResult(w, s, http.StatusBadRequest, csvData{}, "The upload failed: "+uploadProblem(err)+".")
		return
	}
	d := csvData{Name: hdr.Filename}
	res, err := p.Coord.ImportCSV(bytes.NewReader(body), true)
	if p.csvErr(w, s, d, err) {
		return
	}
	d.Result = &res
	d.Upload = p.sess.keepUpload(s, hdr.Filename, body)
	p.csvResult(w, s, http.StatusOK, d, "")
}

// csvImport imports the file checked before.
func (p *pages) csvImport(w http.ResponseWriter, r *http.Request, s *session) {
	u, ok := p.sess.takeUpload(s, r.PostFormValue("upload"))
	if !ok {
		p.csvResult(w, s, http.StatusBadRequest, csvData{}, "That upload has expired (or was imported already): upload the file again.")
		return
	}
	d := csvData{Name: u.name}
	res, err := p.Coord.ImportCSV(bytes.NewReader(u.body), false)
	if p.csvErr(w, s, d, err) {
		return
	}
	d.Result = &res
	p.Log.Info("page: CSV imported", "file", u.name, "created", res.Created, "updated", res.Updated)
	p.csvResult(w, s, http.StatusOK, d, "")
}

// csvErr shows a rejected file's bad rows, or another failure; false
// when err is nil.
func (p *pages) csvErr(w http.ResponseWriter, s *session, d csvData, err error) bool {
	if err == nil {
		return false
	}
	var ie *provision.ImportError
	if errors.As(err, &ie) {
		d.Bad = ie.Rows
		p.csvResult(w, s, http.StatusBadRequest, d, "")
		return true
	}
	_, msg := p.pageError(err)
	p.csvResult(w, s, http.StatusBadRequest, d, "Not imported: "+msg)
	return true
}

func (p *pages) csvResult(w http.ResponseWriter, s *session, code int, d csvData, msg string) {
	v := p.viewFor(s, "CSV", "csv")
	v.Error, v.Data = msg, d
	p.render(w, code, "csv", v.tmplView)
}

func uploadProblem(err error) string {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Sprintf("a file is at most %d MiB", maxCSV>>20)
	}
	if errors.Is(err, http.ErrMissingFile) {
		return "no file chosen"
	}
	return err.Error()
}

// csvTemplate is an empty spreadsheet with every column and two example
// rows showing the compact forms of codecs and keys.
func (p *pages) csvTemplate(w http.ResponseWriter, r *http.Request, _ *session) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(assigncsv.Columns)
	example := map[string][2]string{
		assigncsv.ColMAC:         {"000B82A1B2C3", "00:0b:82:a1:b2:c4"},
		assigncsv.ColExtension:   {"201", "202"},
		assigncsv.ColPassword:    {"change-me-201", "change-me-202"},
		assigncsv.ColDisplayName: {"Reception", "Office"},
		assigncsv.ColCodecs:      {"PCMU;G722", ""},
		assigncsv.ColKeys:        {"blf:202:Office|speed_dial:+15551234:Taxi", ""},
		assigncsv.ColModel:       {"GXP2160", "GXP2130"},
	}
	for i := range 2 {
		var row []string
		for _, c := range assigncsv.Columns {
			row = append(row, example[c][i])
		}
		cw.Write(row)
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pnpbox-template.csv"`)
	w.Write(buf.Bytes())
}

// csvExport downloads every assignment (without passwords: importing it
// back keeps them) and a row for each phone without one.
func (p *pages) csvExport(w http.ResponseWriter, r *http.Request, _ *session) {
	var buf bytes.Buffer
	if err := p.Coord.ExportCSV(&buf, provision.ExportOptions{Unassigned: true}); err != nil {
		_, msg := p.pageError(err)
		http.Error(w, msg, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pnpbox-assignments.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
