package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// This file checks the structure of a bbolt file from its bytes, without
// bbolt. bbolt trusts its file: a page number out of range makes it read
// past the end of its memory map (SIGBUS, SIGSEGV: a crash no recover
// catches), and a page cycle makes Tx.Check recurse until the stack
// overflows. A power cut on an SD card can produce both (etcd-io/bbolt
// #701, #778), and a truncated file the first. Only a file that passes
// this walk is handed to bbolt's own Check, which then finds everything
// else without being able to crash.
//
// The layout is bbolt's on-disk format version 2 (go.etcd.io/bbolt
// internal/common: page.go, meta.go, bucket.go), unchanged since boltdb.

const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	pageHeaderSize     = 16
	elementSize        = 16 // branch and leaf elements are both 16 bytes
	bucketHeaderSize   = 16
	metaChecksumOffset = 56
	noFreelist         = ^uint64(0)

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10
	flagBucket   = 0x01 // leaf element flag: the value is a bucket

	maxDepth = 64 // far deeper than any tree a few MB can hold
)

var ne = binary.NativeEndian // bbolt writes its structs in host byte order

// boltMeta is the part of a meta page the walk needs.
type boltMeta struct {
	page     int // 0 or 1
	pageSize uint64
	root     uint64
	freelist uint64
	hwm      uint64 // high water mark: pages below it are in use or free
	txid     uint64
}

// parseMeta reads the meta at buf[off:], returning an error when its magic,
// version or checksum is wrong.
func parseMeta(buf []byte, off uint64, page int) (boltMeta, error) {
	if off+pageHeaderSize+64 > uint64(len(buf)) {
		return boltMeta{}, corruptf("meta page %d: beyond the end of the file", page)
	}
	h := buf[off:]
	if ne.Uint16(h[8:]) != flagMeta {
		return boltMeta{}, corruptf("meta page %d: not a meta page", page)
	}
	m := h[pageHeaderSize:]
	if ne.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, corruptf("meta page %d: not a bbolt file", page)
	}
	if ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, corruptf("meta page %d: bbolt format %d, want %d", page, ne.Uint32(m[4:]), boltVersion)
	}
	sum := fnv.New64a()
	sum.Write(m[:metaChecksumOffset])
	if sum.Sum64() != ne.Uint64(m[metaChecksumOffset:]) {
		return boltMeta{}, corruptf("meta page %d: checksum mismatch", page)
	}
	return boltMeta{
		page:     page,
		pageSize: uint64(ne.Uint32(m[8:])),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

// readMetas returns the valid meta pages of buf, the one bbolt uses (the
// highest transaction) first.
func readMetas(buf []byte) ([]boltMeta, error) {
	var metas []boltMeta
	m0, err0 := parseMeta(buf, 0, 0)
	if err0 == nil {
		metas = append(metas, m0)
	}
	// Meta page 1 sits one page in; without a valid meta 0 the page size
	// is unknown, so try the sizes bbolt itself tries.
	sizes := []uint64{m0.pageSize}
	if err0 != nil {
		sizes = sizes[:0]
		for i := range 15 {
			sizes = append(sizes, 1024<<i)
		}
	}
	var err1 error = corruptf("meta page 1: not found")
	for _, ps := range sizes {
		if ps < 512 {
			continue
		}
		var m1 boltMeta
		if m1, err1 = parseMeta(buf, ps, 1); err1 == nil {
			if m1.pageSize == ps {
				metas = append(metas, m1)
			}
			break
		}
	}
	if len(metas) == 0 {
		return nil, corruptf("no valid meta page (%v; %v)", err0, err1)
	}
	if len(metas) == 2 && metas[1].txid > metas[0].txid {
		metas[0], metas[1] = metas[1], metas[0]
	}
	return metas, nil
}

// walker checks the page tree under one meta page.
type walker struct {
	buf  []byte
	meta boltMeta
	seen map[uint64]bool
}

// verifyStructure walks the tree under meta: every page referenced once,
// inside the file and below the high water mark, of the right type, with
// every element inside its page.
func verifyStructure(buf []byte, meta boltMeta) error {
	ps := meta.pageSize
	if ps < 512 || ps > 1<<24 || ps&(ps-1) != 0 {
		return corruptf("page size %d", ps)
	}
	if meta.hwm < 2 || meta.hwm > uint64(len(buf))/ps {
		return corruptf("file holds %d bytes, but its meta page says %d pages of %d (truncated?)", len(buf), meta.hwm, ps)
	}
	w := &walker{buf: buf, meta: meta, seen: map[uint64]bool{0: true, 1: true}}
	if meta.freelist != noFreelist {
		if err := w.freelist(meta.freelist); err != nil {
			return err
		}
	}
	return w.page(meta.root, 0)
}

// span returns the bytes of page id and its overflow pages, after checking
// it lies inside the file and was not reached before.
func (w *walker) span(id uint64) ([]byte, error) {
	ps := w.meta.pageSize
	if id < 2 || id >= w.meta.hwm {
		return nil, corruptf("page %d: out of range [2, %d)", id, w.meta.hwm)
	}
	h := w.buf[id*ps:]
	if got := ne.Uint64(h[0:]); got != id {
		return nil, corruptf("page %d: says it is page %d", id, got)
	}
	overflow := uint64(ne.Uint32(h[12:]))
	if id+overflow >= w.meta.hwm {
		return nil, corruptf("page %d: %d overflow pages run past the high water mark %d", id, overflow, w.meta.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p] {
			return nil, corruptf("page %d: referenced twice (a cycle or a shared page)", p)
		}
		w.seen[p] = true
	}
	return w.buf[id*ps : (id+overflow+1)*ps], nil
}

func (w *walker) freelist(id uint64) error {
	p, err := w.span(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if f := ne.Uint16(p[8:]); f != flagFreelist {
		return corruptf("freelist page %d: type %#x", id, f)
	}
	start, count := uint64(pageHeaderSize), uint64(ne.Uint16(p[10:]))
	if count == 0xFFFF { // the count overflowed into the first element
		if len(p) < pageHeaderSize+8 {
			return corruptf("freelist page %d: too short", id)
		}
		count = ne.Uint64(p[pageHeaderSize:])
		start += 8
	}
	if count > (uint64(len(p))-start)/8 {
		return corruptf("freelist page %d: %d entries do not fit", id, count)
	}
	for i := range count {
		if free := ne.Uint64(p[start+8*i:]); free < 2 || free >= w.meta.hwm {
			return corruptf("freelist page %d: free page %d out of range", id, free)
		}
	}
	return nil
}

// page checks the bucket tree page id and everything under it.
func (w *walker) page(id uint64, depth int) error {
	if depth > maxDepth {
		return corruptf("page %d: tree deeper than %d", id, maxDepth)
	}
	p, err := w.span(id)
	if err != nil {
		return err
	}
	return w.nodes(p, id, depth)
}

// nodes checks the elements of the branch or leaf page p (a real page, or
// an inline bucket's page inside a value, then id is 0).
func (w *walker) nodes(p []byte, id uint64, depth int) error {
	if len(p) < pageHeaderSize {
		return corruptf("page %d: shorter than its header", id)
	}
	flags, count := ne.Uint16(p[8:]), uint64(ne.Uint16(p[10:]))
	if flags != flagBranch && flags != flagLeaf {
		return corruptf("page %d: type %#x where a branch or leaf belongs", id, flags)
	}
	if pageHeaderSize+count*elementSize > uint64(len(p)) {
		return corruptf("page %d: %d elements do not fit", id, count)
	}
	if id == 0 && flags != flagLeaf {
		return corruptf("inline bucket page: type %#x, want a leaf", flags)
	}
	if flags == flagBranch && count == 0 {
		return corruptf("page %d: empty branch", id)
	}
	for i := range count {
		off := pageHeaderSize + i*elementSize
		e := p[off:]
		if flags == flagBranch {
			pos, ksize := uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
			if off+pos+ksize > uint64(len(p)) {
				return corruptf("page %d: branch element %d points outside the page", id, i)
			}
			if err := w.page(ne.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		eflags, pos := ne.Uint32(e[0:]), uint64(ne.Uint32(e[4:]))
		ksize, vsize := uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		if off+pos+ksize+vsize > uint64(len(p)) {
			return corruptf("page %d: leaf element %d points outside the page", id, i)
		}
		if eflags&flagBucket == 0 {
			continue
		}
		v := p[off+pos+ksize : off+pos+ksize+vsize]
		if len(v) < bucketHeaderSize {
			return corruptf("page %d: bucket %d: header cut short", id, i)
		}
		if root := ne.Uint64(v[0:]); root != 0 {
			if err := w.page(root, depth+1); err != nil {
				return err
			}
		} else if err := w.nodes(v[bucketHeaderSize:], 0, depth+1); err != nil {
			return fmt.Errorf("inline bucket in page %d: %w", id, err)
		}
	}
	return nil
}
