package main

import (
	"bytes"
	"strings"
	"testing"
)

// -h is a request, not a mistake: the usage on stdout, nothing on stderr,
// exit status 0. A bad flag or value is a usage error: exit status 2 with
// the reason; anything else that stops pnpd is 1.
func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		env        string // PNPD_BOARD
		want       int
		wantOut    string // in stdout
		wantStderr string // stderr is exactly "" when this is ""
	}{
		{"help", []string{"-h"}, "", 0, "Usage: pnpd [flags]", ""},
		{"long help", []string{"--help"}, "", 0, "-admin-password", ""},
		{"version", []string{"-version"}, "", 0, "pnpd ", ""},
		{"unknown flag", []string{"-nosuch"}, "", 2, "", "pnpd: flag provided but not defined: -nosuch\npnpd -h lists the flags\n"},
		{"bad value", []string{"-board", "pi"}, "", 2, "", "pnpd: -board \"pi\": want auto, rpi or sim\npnpd -h lists the flags\n"},
		{"bad number", []string{"-sip-port", "x"}, "", 2, "", "pnpd: invalid value \"x\" for flag -sip-port: parse error\npnpd -h lists the flags\n"},
		{"stray argument", []string{"stray"}, "", 2, "", "pnpd: unexpected arguments: [\"stray\"]\npnpd -h lists the flags\n"},
		{"bad log level", []string{"-log-level", "loud"}, "", 2, "", "pnpd: -log-level \"loud\": want debug, info, warn or error\npnpd -h lists the flags\n"},
		{"bad environment", nil, "nonsense", 2, "", "pnpd: PNPD_BOARD \"nonsense\": want auto, rpi or sim\npnpd -h lists the flags\n"},
		{"flags that do not go together", []string{"-iface", "lo", "-vlan-addr", "192.0.2.1/24"}, "", 2, "", "pnpd -h lists the flags\n"},
		{"no such interface", []string{"-iface", "nosuch0"}, "", 1, "", "pnpd: -iface: interface nosuch0: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("PNPD_BOARD", tc.env)
			}
			var stdout, stderr bytes.Buffer
			got := exitStatus(run(t.Context(), tc.args, &stdout, &stderr), &stderr)
			if got != tc.want {
				t.Errorf("exit status %d, want %d; stderr:\n%s", got, tc.want, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tc.wantOut, &stdout)
			}
			switch {
			case tc.wantStderr == "" && stderr.Len() != 0:
				t.Errorf("stderr %q, want nothing", &stderr)
			case !strings.Contains(stderr.String(), tc.wantStderr):
				t.Errorf("stderr %q, want it to contain %q", &stderr, tc.wantStderr)
			}
		})
	}
}
