package clock

import (
	"time"

	"golang.org/x/sys/unix"
)

func stepSystemClock(offset time.Duration) error {
	tv := unix.NsecToTimeval(time.Now().Add(offset).UnixNano())
	return unix.Settimeofday(&tv)
}

// KernelSynced reports whether the kernel considers its clock
// synchronized (adjtimex without STA_UNSYNC): what a laptop's own NTP
// daemon (chrony, systemd-timesyncd) sets.
func KernelSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	return err == nil && state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
