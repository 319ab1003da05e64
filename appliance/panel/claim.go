package panel

import (
	"sync"
	"time"
)

// ClaimFor is how long claim mode lasts after a long press.
const ClaimFor = 2 * time.Minute

// Claim is the claim-mode window: a hold of LongPress opens it, and while
// it is open, whoever stands at the box may set the admin password without
// knowing the old one (POST /api/claim). Setting it closes the window, so
// one hold sets one password. Safe for concurrent use; the zero value is
// closed and uses time.Now.
type Claim struct {
	Now func() time.Time

	mu    sync.Mutex
	until time.Time
}

func (c *Claim) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Open opens the window for d from now (or extends it).
func (c *Claim) Open(d time.Duration) {
	c.mu.Lock()
	c.until = c.now().Add(d)
	c.mu.Unlock()
}

// Close ends claim mode.
func (c *Claim) Close() {
	c.mu.Lock()
	c.until = time.Time{}
	c.mu.Unlock()
}

// Remaining returns how long the window stays open, 0 when closed.
func (c *Claim) Remaining() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.until.Sub(c.now()), 0)
}

// Use runs set while the window is open, holding it so two claims cannot
// both succeed, and closes the window when set succeeds. open is false
// (and set is not called) when the window is closed.
func (c *Claim) Use(set func() error) (open bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.now().Before(c.until) {
		return false, nil
	}
	if err := set(); err != nil {
		return true, err
	}
	c.until = time.Time{}
	return true, nil
}
