package store

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/pnpbox/pnpbox/appliance"
)

// The bulk records (phones, assignments, events) are most of a start:
// 10,000 phones are about 11 MB of JSON, and the reflection-driven
// decoder spends about 8 µs on each. The records are written by
// encoding/json (store.Apply), so they all have one shape: no whitespace,
// the struct's field names, strings, integers, booleans, nested objects
// and arrays. The fast decoders below read exactly that shape directly,
// and hand anything else (a record from other code, a damaged one, null,
// whitespace, an unknown or repeated name, a number or time in another
// form) to the json/v2 decoder, which decides. A fast path accepts a
// record only where json/v2 reads it to the same value without error (the
// FuzzDecode targets check that), so what a start loads, and which
// records verification calls damaged, do not depend on the path taken.

// decodePhone decodes one phone record into *p (a zero Phone) as
// decodeRecord does. Strings that repeat across phones (vendor, model,
// firmware, user agent, interface, state) are taken from in when it holds
// them (nil: none shared); in is not safe for concurrent use.
func decodePhone(v []byte, p *appliance.Phone, in interner) error {
	d := fastDecoder{b: v, in: in}
	if d.phone(p) && d.i == len(d.b) {
		return nil
	}
	*p = appliance.Phone{} // as it was: json/v2 starts over
	return decodeRecord(v, p)
}

// fastDecoder reads the canonical encoding/json form of a phone record.
// Every method returns false as soon as the input leaves that form.
type fastDecoder struct {
	b  []byte
	i  int
	in interner
	// check makes the decoder only check the strings, not keep them: for
	// records read to find out whether they decode.
	check   bool
	scratch [128]byte // unescaped strings are built here before their copy
}

// object reads an object, calling member for each name (the raw bytes of
// a name without escapes); member reads the value and returns the name's
// own bit, or 0 when the value or the name left the fast path. A name
// seen twice is not the fast path's to judge (json/v2 refuses it).
func (d *fastDecoder) object(member func(name []byte) uint64) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	var seen uint64
	for {
		name, ok := d.name()
		if !ok || !d.next(':') {
			return false
		}
		bit := member(name)
		if bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.next(',') {
			continue
		}
		return d.next('}')
	}
}

func (d *fastDecoder) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// name reads a member name of lower-case letters, digits and '_'.
func (d *fastDecoder) name() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			d.i++
		default:
			return nil, false
		}
	}
	return nil, false
}

// raw reads a string and returns its contents, unescaped (in d.scratch
// when it held escapes, else a view of the input). Control characters and
// invalid UTF-8 leave the fast path.
func (d *fastDecoder) raw() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	if j := bytes.IndexByte(d.b[start:], '"'); j >= 0 {
		// Most strings are plain ASCII: one pass finds out.
		s := d.b[start : start+j]
		plain := true
		for _, c := range s {
			if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			d.i = start + j + 1
			return s, true
		}
	}
	escaped := false
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			if escaped {
				u, err := jsontext.AppendUnquote(d.scratch[:0], d.b[start-1:d.i])
				return u, err == nil
			}
			s := d.b[start : d.i-1]
			return s, utf8.Valid(s)
		case c == '\\':
			escaped = true
			d.i += 2 // the escaped byte cannot end the string
		case c < 0x20:
			return nil, false
		default:
			d.i++
		}
	}
	return nil, false
}

func (d *fastDecoder) str(dst *string) bool {
	s, ok := d.raw()
	if !d.check {
		*dst = string(s)
	}
	return ok
}

// shared reads a string that many phones share (see interner).
func (d *fastDecoder) shared(dst *string) bool {
	s, ok := d.raw()
	if !d.check {
		*dst = d.in.bytes(s)
	}
	return ok
}

// text reads a string into a TextUnmarshaler, as json/v2 does.
func (d *fastDecoder) text(dst interface{ UnmarshalText([]byte) error }) bool {
	s, ok := d.raw()
	return ok && dst.UnmarshalText(s) == nil
}

// time reads a timestamp in the form encoding/json writes UTC times in,
// 2006-01-02T15:04:05Z with up to nine fraction digits, to what json/v2
// reads (time.Time's UnmarshalText, whose range checks are repeated
// here, then json/v2's own RFC 3339 checks, which pass on this form).
// Any other form leaves the fast path.
func (d *fastDecoder) time(dst *time.Time) bool {
	s, ok := d.raw()
	n := len(s)
	if !ok || n < len("2006-01-02T15:04:05Z") || n == len("2006-01-02T15:04:05.Z") || n > len("2006-01-02T15:04:05.999999999Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[n-1] != 'Z' || n > 20 && s[19] != '.' {
		return false
	}
	num := func(i, j int) int {
		v := 0
		for _, c := range s[i:j] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if n > 20 {
		nsec = num(20, n-1)
		for range 9 - (n - 21) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 || nsec < 0 ||
		day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return false
	}
	*dst = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return true
}

// integer reads a JSON integer (no fraction, no exponent) that fits in
// bits bits, signed or not.
func (d *fastDecoder) integer(bits int, signed bool) (int64, uint64, bool) {
	start := d.i
	if signed {
		d.next('-')
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 1 && d.b[digits] == '0' || d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, 0, false
	}
	s := string(d.b[start:d.i]) // no allocation: converted for the call only
	if signed {
		v, err := strconv.ParseInt(s, 10, bits)
		return v, 0, err == nil
	}
	v, err := strconv.ParseUint(s, 10, bits)
	return 0, v, err == nil
}

func (d *fastDecoder) int(dst *int) bool {
	v, _, ok := d.integer(strconv.IntSize, true)
	*dst = int(v)
	return ok
}

func (d *fastDecoder) bool(dst *bool) bool {
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		*dst, d.i = true, d.i+4
		return true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		*dst, d.i = false, d.i+5
		return true
	}
	return false
}

// on is bit when ok, else 0: a member's answer to object.
func on(bit uint64, ok bool) uint64 {
	if ok {
		return bit
	}
	return 0
}

// phone reads a phone record. Displaced (rare) is left to json/v2.
func (d *fastDecoder) phone(p *appliance.Phone) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "mac":
			return on(1<<0, d.text(&p.MAC))
		case "vendor":
			return on(1<<1, d.shared(&p.Vendor))
		case "model":
			return on(1<<2, d.shared(&p.Model))
		case "firmware":
			return on(1<<3, d.shared(&p.Firmware))
		case "user_agent":
			return on(1<<4, d.shared(&p.UserAgent))
		case "ip":
			return on(1<<5, d.text(&p.IP))
		case "sip_port":
			return on(1<<6, d.int(&p.SIPPort))
		case "source":
			return on(1<<7, d.text(&p.Source))
		case "interface":
			return on(1<<8, d.shared(&p.Interface))
		case "multicast":
			return on(1<<9, d.bool(&p.Multicast))
		case "state":
			return on(1<<10, d.shared((*string)(&p.State)))
		case "first_seen":
			return on(1<<11, d.time(&p.FirstSeen))
		case "last_seen":
			return on(1<<12, d.time(&p.LastSeen))
		case "token":
			return on(1<<13, d.str(&p.Token))
		case "admin_password":
			return on(1<<14, d.str(&p.AdminPassword))
		case "dialog":
			p.Dialog = &appliance.Dialog{}
			return on(1<<15, d.dialog(p.Dialog))
		case "notify":
			p.LastNotify = &appliance.NotifyOutcome{}
			return on(1<<16, d.notify(p.LastNotify))
		case "downloads":
			return on(1<<17, d.int(&p.Downloads))
		case "last_download":
			p.LastDownload = &appliance.Download{}
			return on(1<<18, d.download(p.LastDownload))
		case "notified_at":
			return on(1<<19, d.time(&p.NotifiedAt))
		}
		return 0
	})
}

func (d *fastDecoder) dialog(g *appliance.Dialog) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "call_id":
			return on(1<<0, d.str(&g.CallID))
		case "from":
			return on(1<<1, d.str(&g.RemoteURI))
		case "to":
			return on(1<<2, d.str(&g.LocalURI))
		case "local_tag":
			return on(1<<3, d.str(&g.LocalTag))
		case "contact":
			return on(1<<4, d.str(&g.RemoteTarget))
		case "target":
			return on(1<<5, d.text(&g.RemoteAddr))
		case "local_addr":
			return on(1<<6, d.text(&g.LocalAddr))
		case "interface":
			return on(1<<7, d.shared(&g.Interface))
		case "notify_cseq":
			_, v, ok := d.integer(32, false)
			g.LocalCSeq = uint32(v)
			return on(1<<8, ok)
		}
		return 0
	})
}

func (d *fastDecoder) notify(n *appliance.NotifyOutcome) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "time":
			return on(1<<0, d.time(&n.Time))
		case "result":
			return on(1<<1, d.shared((*string)(&n.Result)))
		case "code":
			return on(1<<2, d.int(&n.Code))
		case "detail":
			return on(1<<3, d.str(&n.Detail))
		}
		return 0
	})
}

func (d *fastDecoder) download(l *appliance.Download) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "time":
			return on(1<<0, d.time(&l.Time))
		case "ip":
			return on(1<<1, d.text(&l.IP))
		case "user_agent":
			return on(1<<2, d.shared(&l.UserAgent))
		case "file":
			return on(1<<3, d.str(&l.File))
		case "sha256":
			return on(1<<4, d.str(&l.SHA256))
		}
		return 0
	})
}

// decodeAssignment decodes one assignment record into *a (a zero
// Assignment) as decodeRecord does; in as for decodePhone. Extra
// accounts and keys take the fast path, raw P-values (a map) json/v2.
func decodeAssignment(v []byte, a *appliance.Assignment, in interner) error {
	d := fastDecoder{b: v, in: in}
	if d.assignment(a) && d.i == len(d.b) {
		return nil
	}
	*a = appliance.Assignment{}
	return decodeRecord(v, a)
}

// decodeEvent decodes one event record into *e (a zero Event) as
// decodeRecord does; in as for decodePhone.
func decodeEvent(v []byte, e *appliance.Event, in interner) error {
	d := fastDecoder{b: v, in: in}
	if d.event(e) && d.i == len(d.b) {
		return nil
	}
	*e = appliance.Event{}
	return decodeRecord(v, e)
}

// checkEvent returns decodeEvent's error for v without keeping what it
// decodes: verification reads every event only to know that it decodes,
// and the fast path accepts only what json/v2 accepts.
func checkEvent(v []byte) error {
	d := fastDecoder{b: v, check: true}
	var e appliance.Event
	if d.event(&e) && d.i == len(d.b) {
		return nil
	}
	return decodeRecord(v, &appliance.Event{})
}

// array reads a non-empty array, calling elem for each value (an empty
// one is json/v2's: it makes an empty, non-nil slice).
func (d *fastDecoder) array(elem func() bool) bool {
	if !d.next('[') || d.next(']') {
		return false
	}
	for {
		if !elem() {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next(']')
	}
}

func (d *fastDecoder) assignment(a *appliance.Assignment) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "extension":
			return on(1<<0, d.str(&a.Extension))
		case "password":
			return on(1<<1, d.str(&a.Password))
		case "display_name":
			return on(1<<2, d.str(&a.DisplayName))
		case "auth_id":
			return on(1<<3, d.str(&a.AuthID))
		case "sip_server":
			return on(1<<4, d.shared(&a.SIPServer))
		case "codecs":
			return on(1<<5, d.array(func() bool {
				a.Codecs = append(a.Codecs, "")
				return d.shared(&a.Codecs[len(a.Codecs)-1])
			}))
		case "keys":
			return on(1<<6, d.array(func() bool {
				a.Keys = append(a.Keys, appliance.Key{})
				return d.key(&a.Keys[len(a.Keys)-1])
			}))
		case "accounts":
			return on(1<<7, d.array(func() bool {
				a.Accounts = append(a.Accounts, appliance.Account{})
				return d.account(&a.Accounts[len(a.Accounts)-1])
			}))
		case "model":
			return on(1<<8, d.shared(&a.Model))
		case "notify_url_form":
			return on(1<<9, d.shared(&a.NotifyURLForm))
		}
		return 0
	})
}

func (d *fastDecoder) key(k *appliance.Key) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "type":
			return on(1<<0, d.shared(&k.Type))
		case "value":
			return on(1<<1, d.str(&k.Value))
		case "label":
			return on(1<<2, d.shared(&k.Label))
		case "account":
			return on(1<<3, d.int(&k.Account))
		}
		return 0
	})
}

func (d *fastDecoder) account(a *appliance.Account) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "extension":
			return on(1<<0, d.str(&a.Extension))
		case "password":
			return on(1<<1, d.str(&a.Password))
		case "display_name":
			return on(1<<2, d.str(&a.DisplayName))
		case "auth_id":
			return on(1<<3, d.str(&a.AuthID))
		case "sip_server":
			return on(1<<4, d.shared(&a.SIPServer))
		}
		return 0
	})
}

func (d *fastDecoder) event(e *appliance.Event) bool {
	return d.object(func(name []byte) uint64 {
		switch string(name) {
		case "seq":
			_, v, ok := d.integer(64, false)
			e.Seq = v
			return on(1<<0, ok)
		case "time":
			return on(1<<1, d.time(&e.Time))
		case "mac":
			return on(1<<2, d.text(&e.MAC))
		case "kind":
			return on(1<<3, d.shared(&e.Kind))
		case "detail":
			return on(1<<4, d.str(&e.Detail))
		}
		return 0
	})
}
