//go:build !linux

package gpio

import (
	"errors"
	"fmt"
)

// Open fails: GPIO lines are reached through Linux's character device.
func Open(cfg Config) (*Board, error) {
	return nil, fmt.Errorf("%w: %w", ErrNoChip, errors.ErrUnsupported)
}
