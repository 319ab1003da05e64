package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/pnpbox/pnpbox/appliance"
	bolt "go.etcd.io/bbolt"
)

// PoolGrant records one extension the pool handed out: to which phone and
// when. The ledger keeps it after the assignment is removed, because the
// phone still holds that account until it is configured again.
type PoolGrant struct {
	MAC  appliance.MAC `json:"mac"`
	Time time.Time     `json:"time"`
}

// Contents is the whole state, as loaded at start (everything but the
// events).
type Contents struct {
	Schema      int
	Phones      map[appliance.MAC]appliance.Phone
	Assignments map[appliance.MAC]appliance.Assignment
	Settings    appliance.Settings
	Admin       *Credential
	PoolIssued  map[string]PoolGrant // extension → grant
	Alerts      []appliance.Alert
	LastEvent   uint64
}

// Load reads everything but the events. The first Load after Open
// returns what Open's verification decoded when nothing was committed
// since (the same transaction's records), so a start decodes each record
// once; the caller owns the maps either way.
func (s *Store) Load() (Contents, error) {
	var all Contents
	v := s.opened.Swap(nil)
	err := s.view(func(tx *bolt.Tx) error {
		if v != nil && uint64(tx.ID()) == v.txid {
			all = v.contents
			return nil
		}
		var err error
		all, err = load(tx)
		return err
	})
	if err != nil {
		return Contents{}, fmt.Errorf("load %s: %w", s.path, err)
	}
	return all, nil
}

// load decodes every record but the events. A record that does not decode
// is corruption: bbolt has no checksums on pages, so a flipped bit shows up
// here or nowhere.
func load(tx *bolt.Tx) (Contents, error) {
	all := Contents{
		Phones:      map[appliance.MAC]appliance.Phone{},
		Assignments: map[appliance.MAC]appliance.Assignment{},
		Settings:    appliance.DefaultSettings(),
		PoolIssued:  map[string]PoolGrant{},
	}
	var err error
	if all.Schema, err = schemaOf(tx); err != nil {
		return all, err
	}
	for _, b := range [][]byte{bucketPhones, bucketAssignments, bucketEvents, bucketSettings} {
		if tx.Bucket(b) == nil {
			return all, corruptf("bucket %s missing", b)
		}
	}
	// Decoding is most of a start's work: the records are collected in
	// the transaction (bbolt's Tx is not for concurrent use; the values
	// stay valid while it is open) and decoded on every core.
	var phoneKV, assignKV []kv
	tx.Bucket(bucketPhones).ForEach(func(k, v []byte) error {
		phoneKV = append(phoneKV, kv{k, v})
		return nil
	})
	tx.Bucket(bucketAssignments).ForEach(func(k, v []byte) error {
		assignKV = append(assignKV, kv{k, v})
		return nil
	})
	phones := make([]appliance.Phone, len(phoneKV))
	assigns := make([]appliance.Assignment, len(assignKV))
	macs := make([]appliance.MAC, len(assignKV))
	shared := make([]interner, runtime.GOMAXPROCS(0)) // one per worker
	err = decodeAll(len(phoneKV)+len(assignKV), func(w, i int) error {
		if i < len(phoneKV) {
			k, v := phoneKV[i].k, phoneKV[i].v
			p := &phones[i]
			if shared[w] == nil {
				shared[w] = interner{}
			}
			if err := decodePhone(v, p, shared[w]); err != nil {
				return corruptf("phone %q: %v", k, err)
			}
			if p.MAC.String() != string(k) {
				return corruptf("phone %q holds the record of %s", k, p.MAC)
			}
			return nil
		}
		i -= len(phoneKV)
		k, v := assignKV[i].k, assignKV[i].v
		mac, err := appliance.ParseMAC(string(k))
		if err != nil {
			return corruptf("assignment key %q: %v", k, err)
		}
		if shared[w] == nil {
			shared[w] = interner{}
		}
		if err := decodeAssignment(v, &assigns[i], shared[w]); err != nil {
			return corruptf("assignment %s: %v", k, err)
		}
		macs[i] = mac
		return nil
	})
	if err != nil {
		return all, err
	}
	all.Phones = make(map[appliance.MAC]appliance.Phone, len(phones))
	in := interner{}
	for _, p := range phones {
		in.phone(&p)
		all.Phones[p.MAC] = p
	}
	all.Assignments = make(map[appliance.MAC]appliance.Assignment, len(assigns))
	for i, a := range assigns {
		all.Assignments[macs[i]] = a
	}
	set := tx.Bucket(bucketSettings)
	if v := set.Get(keySite); v != nil {
		if err := json.Unmarshal(v, &all.Settings); err != nil {
			return all, corruptf("settings: %v", err)
		}
	}
	if v := set.Get(keyAdmin); v != nil {
		all.Admin = &Credential{}
		if err := json.Unmarshal(v, all.Admin); err != nil {
			return all, corruptf("admin credential: %v", err)
		}
	}
	if pool := tx.Bucket(bucketPool); pool != nil {
		if err := pool.ForEach(func(k, v []byte) error {
			var g PoolGrant
			if err := json.Unmarshal(v, &g); err != nil {
				return corruptf("pool grant %q: %v", k, err)
			}
			all.PoolIssued[string(k)] = g
			return nil
		}); err != nil {
			return all, err
		}
	}
	if v := tx.Bucket(bucketMeta).Get(keyAlerts); v != nil {
		if err := json.Unmarshal(v, &all.Alerts); err != nil {
			return all, corruptf("alerts: %v", err)
		}
	}
	if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
		if len(k) != 8 {
			return all, corruptf("event key %x", k)
		}
		all.LastEvent = binary.BigEndian.Uint64(k)
	}
	return all, nil
}

// checkEvents decodes every event (part of verifying a file).
func checkEvents(tx *bolt.Tx) error {
	var evs []kv
	err := tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return corruptf("event key %x", k)
		}
		evs = append(evs, kv{k, v})
		return nil
	})
	if err != nil {
		return err
	}
	return decodeAll(len(evs), func(_, i int) error {
		if err := checkEvent(evs[i].v); err != nil {
			return corruptf("event %d: %v", binary.BigEndian.Uint64(evs[i].k), err)
		}
		return nil
	})
}

// interner makes equal strings share one copy. A building's phones are a
// few models on a few firmware versions: their vendor, model, firmware,
// user agent and interface strings are the same thousands of times over,
// and each decoded record would otherwise hold its own copies.
type interner map[string]string

// bytes returns b as a string, the shared copy when there is one. A nil
// interner shares nothing.
func (in interner) bytes(b []byte) string {
	if v, ok := in[string(b)]; ok {
		return v
	}
	return in.add(string(b))
}

// s replaces *p by the shared copy of its value, or shares *p.
func (in interner) s(p *string) {
	if v, ok := in[*p]; ok {
		*p = v
		return
	}
	in.add(*p)
}

// add shares v from now on and returns it; bounded, since a record of
// unique values adds nothing.
func (in interner) add(v string) string {
	if in != nil && v != "" && len(in) < 4096 {
		in[v] = v
	}
	return v
}

func (in interner) phone(p *appliance.Phone) {
	in.s(&p.Vendor)
	in.s(&p.Model)
	in.s(&p.Firmware)
	in.s(&p.UserAgent)
	in.s(&p.Interface)
	if p.Dialog != nil {
		in.s(&p.Dialog.Interface)
	}
	if p.LastDownload != nil {
		in.s(&p.LastDownload.UserAgent)
	}
}

// decodeRecord decodes one phone, assignment or event: the bulk of a
// start. It uses the encoding/json/v2 implementation (go-json-experiment,
// the same code as Go's GOEXPERIMENT=jsonv2), about three times faster
// than encoding/json on these records. The records are written by
// encoding/json with exact field names and valid UTF-8, which both read
// alike; v2 is stricter where a damaged record differs (duplicate names,
// invalid UTF-8), which is what verification wants.
func decodeRecord(v []byte, out any) error {
	return jsonv2.Unmarshal(v, out)
}

// kv is one record as bbolt holds it (valid while its transaction is open).
type kv struct{ k, v []byte }

// decodeAll calls decode(w, i) for every i in [0, n) on up to GOMAXPROCS
// goroutines, and returns the error of the lowest i that failed (the first
// in key order, as a sequential walk would), or nil. w, in [0,
// GOMAXPROCS), names the goroutine: no two calls with the same w run at
// once, so decode may keep per-w state without locking.
//
// Work is handed out in small chunks in index order rather than split in
// equal ranges: the records are not equally costly (a phone takes about
// five times an assignment's time), and equal ranges left one core idle
// for most of a start.
func decodeAll(n int, decode func(w, i int) error) error {
	const chunk = 64
	workers := min(runtime.GOMAXPROCS(0), n/256+1)
	type failure struct {
		i   int
		err error
	}
	fails := make([]failure, workers)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		fails[w].i = n
		wg.Go(func() {
			// Chunks are taken in increasing order, so once one failed every
			// chunk not yet taken lies above it: stop taking them. Chunks
			// already taken finish, so the lowest failure is always found.
			for !failed.Load() {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					if err := decode(w, i); err != nil {
						fails[w] = failure{i, err}
						failed.Store(true)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	first := failure{i: n}
	for _, f := range fails {
		if f.i < first.i {
			first = f
		}
	}
	return first.err
}

func schemaOf(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, corruptf("bucket meta missing")
	}
	v := meta.Get(keySchema)
	if v == nil {
		return 0, corruptf("no schema version")
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, corruptf("schema version %q", v)
	}
	return n, nil
}
