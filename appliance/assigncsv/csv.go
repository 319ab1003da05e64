package assigncsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// Column names.
const (
	ColMAC         = "mac"
	ColExtension   = "extension"
	ColPassword    = "password"
	ColDisplayName = "display_name"
	ColAuthID      = "auth_id"
	ColSIPServer   = "sip_server"
	ColCodecs      = "codecs"
	ColKeys        = "keys"
	ColModel       = "model"
)

// column is one column of the file: how an export reads it from an
// assignment and an import writes it into one. columns is the one table of
// them: the header check, Row.Apply, Writer.Write and Changed all use it.
type column struct {
	name string
	// get is the cell an export writes for a (mac has none: the MAC is the
	// row's key, not an assignment field).
	get func(a *appliance.Assignment) string
	// set applies a cell to a.
	set func(a *appliance.Assignment, v string) error
}

var columns = []column{
	{name: ColMAC},
	{ColExtension, func(a *appliance.Assignment) string { return a.Extension }, func(a *appliance.Assignment, v string) error { a.Extension = v; return nil }},
	{ColPassword, func(a *appliance.Assignment) string { return a.Password }, func(a *appliance.Assignment, v string) error {
		if v != "" { // an empty cell keeps the stored secret
			a.Password = v
		}
		return nil
	}},
	{ColDisplayName, func(a *appliance.Assignment) string { return a.DisplayName }, func(a *appliance.Assignment, v string) error { a.DisplayName = v; return nil }},
	{ColAuthID, func(a *appliance.Assignment) string { return a.AuthID }, func(a *appliance.Assignment, v string) error { a.AuthID = v; return nil }},
	{ColSIPServer, func(a *appliance.Assignment) string { return a.SIPServer }, func(a *appliance.Assignment, v string) error { a.SIPServer = v; return nil }},
	{ColCodecs, func(a *appliance.Assignment) string { return FormatCodecs(a.Codecs) }, func(a *appliance.Assignment, v string) error { a.Codecs = ParseCodecs(v); return nil }},
	{ColKeys, func(a *appliance.Assignment) string { return FormatKeys(a.Keys) }, func(a *appliance.Assignment, v string) error {
		keys, err := ParseKeys(v)
		if err != nil {
			return &appliance.FieldError{Field: ColKeys, Msg: err.Error()}
		}
		a.Keys = keys
		return nil
	}},
	{ColModel, func(a *appliance.Assignment) string { return a.Model }, func(a *appliance.Assignment, v string) error { a.Model = v; return nil }},
}

// Columns are the columns in the order Write writes them.
var Columns = func() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.name
	}
	return out
}()

// Changed names the columns whose cells differ between assignments a and
// b, in column order: what an import changes, for its answer.
func Changed(a, b appliance.Assignment) []string {
	var out []string
	for _, c := range columns {
		if c.get != nil && c.get(&a) != c.get(&b) {
			out = append(out, c.name)
		}
	}
	return out
}

// Error is a file-wide problem Read reports: the line (the header is line
// 1), the column of the text when known (0 if not), and what is wrong.
type Error struct {
	Line   int
	Column int
	Msg    string
}

// Detail is the message without the line: "column 7: …" or the message.
func (e *Error) Detail() string {
	if e.Column > 0 {
		return fmt.Sprintf("column %d: %s", e.Column, e.Msg)
	}
	return e.Msg
}

func (e *Error) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// MaxRows bounds one file: far more phones than one LAN holds.
const MaxRows = 20000

// RowError is one bad row: its line in the file (the header is line 1),
// the MAC as written, the column at fault if one is, and why.
type RowError struct {
	Line  int    `json:"line"`
	MAC   string `json:"mac,omitempty"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// Row is one data row: the value of every column the header has.
type Row struct {
	Line   int
	values []string
	file   *File
}

// File is a parsed CSV file.
type File struct {
	// Columns are the header's columns, as canonical names.
	Columns []string
	Rows    []Row
	// Errors are rows that could not even be split into columns.
	Errors []RowError
	index  map[string]int
}

// Has reports whether the header has column.
func (f *File) Has(column string) bool {
	_, ok := f.index[column]
	return ok
}

// Get returns the row's value of column ("" if the header lacks it).
func (r Row) Get(column string) string {
	if i, ok := r.file.index[column]; ok {
		return r.values[i]
	}
	return ""
}

// Blank reports whether every column but mac and model is empty: a phone
// listed (as an export with unassigned phones lists it) without an
// assignment to import.
func (r Row) Blank() bool {
	for i, c := range r.file.Columns {
		if c != ColMAC && c != ColModel && strings.TrimSpace(r.values[i]) != "" {
			return false
		}
	}
	return true
}

// Read parses a CSV file. It fails as a whole (with a line number) on a
// bad header, a syntax error or too many rows; rows with the wrong number
// of fields are collected in File.Errors. A UTF-8 byte order mark is
// skipped, and a header with ';' but no ',' makes ';' the separator (as
// spreadsheets in many locales write CSV).
func Read(r io.Reader) (*File, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	first, _ := br.Peek(4096)
	if line, _, _ := bytes.Cut(first, []byte("\n")); bytes.IndexByte(line, ',') < 0 && bytes.IndexByte(line, ';') >= 0 {
		return read(br, ';')
	}
	return read(br, ',')
}

func read(r io.Reader, comma rune) (*File, error) {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // checked here, to name the line and go on
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{Line: 1, Msg: "empty file; the first line must be a header such as mac,extension,password"}
	}
	if err != nil {
		return nil, csvErr(err)
	}
	f := &File{index: map[string]int{}}
	for i, h := range header {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "_")
		if !known(name) {
			return nil, &Error{Line: 1, Msg: fmt.Sprintf("unknown column %q (known: %s)", h, strings.Join(Columns, ", "))}
		}
		if _, dup := f.index[name]; dup {
			return nil, &Error{Line: 1, Msg: fmt.Sprintf("column %q twice", name)}
		}
		f.index[name] = i
		f.Columns = append(f.Columns, name)
	}
	if !f.Has(ColMAC) {
		return nil, &Error{Line: 1, Msg: fmt.Sprintf("no %q column (the header must name the columns, e.g. mac,extension,password)", ColMAC)}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		if allEmpty(rec) {
			continue
		}
		if len(f.Rows)+len(f.Errors) >= MaxRows {
			return nil, &Error{Line: line, Msg: fmt.Sprintf("more than %d rows", MaxRows)}
		}
		if len(rec) != len(header) {
			f.Errors = append(f.Errors, RowError{Line: line, MAC: field(rec, f.index[ColMAC]),
				Error: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		f.Rows = append(f.Rows, Row{Line: line, values: rec, file: f})
	}
	return f, nil
}

func known(name string) bool {
	for _, c := range Columns {
		if c == name {
			return true
		}
	}
	return false
}

func allEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func field(rec []string, i int) string {
	if i < len(rec) {
		return rec[i]
	}
	return ""
}

// csvErr says where a syntax error is, without Go's "record on line"
// wording.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return err
}

// Apply sets the fields of a that the row has columns for, except an
// empty password, which keeps a's: so a row can change a phone's name
// without its secret, and an export without passwords imports as no
// change. It reports the field at fault on a malformed codecs or keys cell.
func (r Row) Apply(a *appliance.Assignment) error {
	for _, c := range columns {
		if c.set == nil || !r.file.Has(c.name) {
			continue
		}
		if err := c.set(a, r.Get(c.name)); err != nil {
			return err
		}
	}
	return nil
}

// ParseCodecs splits "PCMU;G722" (empty: none, the site's codecs apply).
func ParseCodecs(s string) []string {
	var out []string
	for c := range strings.SplitSeq(s, ";") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// FormatCodecs is the inverse of ParseCodecs.
func FormatCodecs(codecs []string) string { return strings.Join(codecs, ";") }

// ParseKeys parses the compact key form (see the package comment).
func ParseKeys(s string) ([]appliance.Key, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var keys []appliance.Key
	var parts []string
	var cur strings.Builder
	endKey := func() error {
		parts = append(parts, cur.String())
		cur.Reset()
		n := len(keys) + 1
		if len(parts) > 4 {
			return fmt.Errorf("key %d: more than type:value:label:account (write \\: for a colon in a value or label)", n)
		}
		k := appliance.Key{Type: strings.TrimSpace(parts[0])}
		if k.Type == "" {
			return fmt.Errorf("key %d: no type (write none for an unused key)", n)
		}
		if len(parts) > 1 {
			k.Value = parts[1]
		}
		if len(parts) > 2 {
			k.Label = parts[2]
		}
		if len(parts) > 3 && strings.TrimSpace(parts[3]) != "" {
			acc, err := strconv.Atoi(strings.TrimSpace(parts[3]))
			if err != nil || acc < 1 {
				return fmt.Errorf("key %d: account %q is not a number from 1", n, parts[3])
			}
			k.Account = acc
		}
		keys = append(keys, k)
		parts = parts[:0]
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("key %d: ends with a lone backslash", len(keys)+1)
			}
			i++
			cur.WriteByte(s[i])
		case ':':
			parts = append(parts, cur.String())
			cur.Reset()
		case '|':
			if err := endKey(); err != nil {
				return nil, err
			}
		default:
			cur.WriteByte(c)
		}
	}
	if err := endKey(); err != nil {
		return nil, err
	}
	return keys, nil
}

// FormatKeys is the inverse of ParseKeys.
func FormatKeys(keys []appliance.Key) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('|')
		}
		parts := []string{escape(k.Type), escape(k.Value), escape(k.Label)}
		if k.Account > 0 {
			parts = append(parts, strconv.Itoa(k.Account))
		}
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		b.WriteString(strings.Join(parts, ":"))
	}
	return b.String()
}

var escaper = strings.NewReplacer(`\`, `\\`, `:`, `\:`, `|`, `\|`)

func escape(s string) string { return escaper.Replace(s) }

// ExportRow is one phone in an export. A zero Assignment (no extension)
// writes a row with only the MAC and the model: a phone without an
// assignment, for the installer to fill in.
type ExportRow struct {
	MAC        appliance.MAC
	Model      string // the phone's reported model, when it has no assignment
	Assignment *appliance.Assignment
}

// Writer writes an export: the header, then rows. Passwords are written
// only when withPasswords is set, else the column is left empty (and
// importing the file keeps the stored passwords).
type Writer struct {
	cw            *csv.Writer
	withPasswords bool
}

// NewWriter writes the header to w.
func NewWriter(w io.Writer, withPasswords bool) (*Writer, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return nil, err
	}
	return &Writer{cw: cw, withPasswords: withPasswords}, nil
}

// Write writes one row.
func (w *Writer) Write(r ExportRow) error {
	a := r.Assignment
	if a == nil { // a phone without an assignment: MAC and model only
		a = &appliance.Assignment{Model: r.Model}
	} else if !w.withPasswords {
		noPW := *a
		noPW.Password = ""
		a = &noPW
	}
	rec := make([]string, len(columns))
	for i, c := range columns {
		if c.get == nil {
			rec[i] = r.MAC.String()
		} else {
			rec[i] = c.get(a)
		}
	}
	return w.cw.Write(rec)
}

// Flush writes what is buffered and reports any write error.
func (w *Writer) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}
