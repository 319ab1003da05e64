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
//
// Exit status: 0 after a clean shutdown (SIGINT, SIGTERM), -h or -version;
// 2 for a bad flag or PNPD_* value; 1 when pnpd cannot start or stops on
// an error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitStatus(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// exitStatus says err (what run returned) on stderr and returns pnpd's
// exit status: 0 for nil (also after -h and -version), 2 for a usage
// error (a bad flag or PNPD_* value), 1 for anything else.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "pnpd: %v\n", err)
	if errors.As(err, new(usageError)) {
		fmt.Fprintln(stderr, "pnpd -h lists the flags")
		return 2
	}
	return 1
}
