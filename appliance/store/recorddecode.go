package store

import "github.com/pnpbox/pnpbox/appliance"

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
		case "count":
			return on(1<<5, d.int(&e.Count))
		}
		return 0
	})
}
