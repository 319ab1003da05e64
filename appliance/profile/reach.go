package profile

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// reach checks that the phone can follow where the config sends it next:
// P237 (config server path) with P212 (its protocol), and P192 (firmware
// server path), whichever layer set them (site settings, raw p_values of
// the site, a model or the assignment).
//
//   - P237 and P192 are host[:port]/path without a scheme (the phone puts
//     the scheme from P212/P6767 in front).
//   - P212 and P6767 are codes the phone knows (reference §2.2: 0 TFTP,
//     1 HTTP, 2 HTTPS; 3 FTP and 4 FTPS are not offered by the box).
//   - When P237 is the box's own path (Input.ConfigServerPath: nothing
//     overrode it), P212 must be a protocol the box serves there
//     (Input.BoxProtocols): the phone's second download would otherwise
//     fail and it would stay "downloaded" (a box that serves plain HTTP
//     only, with P212=2, sends the phone to https://box:80/…).
//
// Render does not run it, so that a config stored before this check
// still downloads; Check (the door) and MayNotify do.
func (c config) reach(in Input) error {
	for _, p := range []int{237, 192} {
		if v, ok := c[p]; ok && v.value != "" {
			if err := appliance.ValidateServerPath(v.field, v.value); err != nil {
				return err
			}
		}
	}
	for _, p := range []int{212, 6767} {
		if v, ok := c[p]; ok {
			if _, known := protocolName(v.value); !known {
				return fieldErr(v.field, "P%d=%q is not a protocol the box writes (0 TFTP, 1 HTTP, 2 HTTPS)", p, v.value)
			}
		}
	}
	path, hasPath := c[237]
	if !hasPath || path.value != in.ConfigServerPath || path.field != "config_server_path" {
		return nil // another server: the installer's to run
	}
	proto := c[212]
	name, _ := protocolName(proto.value)
	box := in.BoxProtocols
	if len(box) == 0 {
		box = []string{appliance.ProtocolHTTP}
	}
	if !slices.Contains(box, name) {
		return fieldErr(proto.field, "the box serves configs over %s only, and without config_server_path the phones fetch theirs from the box; "+
			"choose %s, or set config_server_path to a server that serves %s", strings.Join(box, ", "), strings.Join(box, " or "), name)
	}
	return nil
}

// protocolName is the protocol a P212/P6767 value stands for.
func protocolName(code string) (string, bool) {
	n, err := strconv.Atoi(code)
	if err != nil {
		return "", false
	}
	for name, c := range protocolCodes {
		if c == n {
			return name, true
		}
	}
	return "", false
}
