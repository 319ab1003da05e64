package profile

import (
	"regexp"
	"strconv"
	"strings"
)

// masked replaces a secret in Mask's output.
const masked = "********"

// secretElement matches a non-empty secret element as Render writes it.
// The text of an element never contains '<': Render escapes it.
var secretElement = func() *regexp.Regexp {
	names := make([]string, len(secretPs))
	for i, p := range secretPs {
		names[i] = "P" + strconv.Itoa(p)
	}
	return regexp.MustCompile(`<(` + strings.Join(names, "|") + `)>[^<]+</`)
}()

// Mask returns a copy of a config rendered by Render with every secret —
// SIP passwords (P34, P406, P506, P606, P706, P1706, P1806), the admin and
// end-user passwords (P2, P196), the config and firmware HTTP passwords
// (P1361, P6769) and the XML file password (P1359) — replaced by
// "********", for an admin's preview. An empty secret stays empty, so the
// preview still shows that none is set.
func Mask(xml []byte) []byte {
	return secretElement.ReplaceAll(xml, []byte("<${1}>"+masked+"</"))
}
