// Package testlog collects what a program under test writes (pnpd's log,
// phonesim's report) for tests that read it while it is still written.
package testlog

import (
	"strings"
	"sync"
)

// Buffer is an io.Writer that keeps everything written, safe for
// concurrent writers and readers. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p; it never fails.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
