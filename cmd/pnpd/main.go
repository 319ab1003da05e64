// Command pnpd is the pnpbox appliance daemon: it answers SIP Plug-and-Play
// SUBSCRIBEs from factory-default phones on the LAN, lists them, sends each
// assigned phone a NOTIFY with the URL of its config when the button is
// pressed (or at once in auto mode), serves the configs, and shows on the
// LED what it is doing.
//
// Usage:
//
//	pnpd [flags]
//
// Every flag can also be given in the environment as PNPD_<NAME>
// (PNPD_ADMIN_PASSWORD, PNPD_SIP_PORT, …); a flag on the command line wins.
//
// Examples:
//
//	pnpd -iface eth0 -net dhcp                       # on the box (its init script)
//	pnpd -board sim -data ./var -http 127.0.0.1:8080 -admin-password secret123
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "pnpd: %v\n", err)
		os.Exit(1)
	}
}
