// Package board is the Go code that touches the physical device: board/gpio
// (LED and button through periph), board/netif (the LAN interface through
// netlink) and board/sim (the simulated board for laptops and tests).
// appliance/* never imports these; cmd/pnpd wires them in. Buildroot's
// board-support files live in buildroot/board/, not here.
package board
