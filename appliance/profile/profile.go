// Package profile renders Grandstream configs. (Interim account-1 renderer;
// replaced by the full model-aware package.)
package profile

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"

	"github.com/pnpbox/pnpbox/appliance"
)

// Input is everything needed to render one phone's config.
type Input struct {
	MAC              appliance.MAC
	Model            string
	Assignment       appliance.Assignment
	Site             appliance.Settings
	ConfigServerPath string
	AdminPassword    string
}

// Validate checks model-specific limits.
func Validate(a appliance.Assignment, model string) error { return nil }

// Render returns the gs_provision v1 XML for in.
func Render(in Input) ([]byte, error) {
	a := in.Assignment
	pv := map[int]string{271: "1", 35: a.Extension, 34: a.Password, 237: in.ConfigServerPath, 212: "1"}
	pv[36] = a.Extension
	if a.AuthID != "" {
		pv[36] = a.AuthID
	}
	pv[47] = a.SIPServer
	if pv[47] == "" {
		pv[47] = in.Site.SIPServer
	}
	pv[3] = a.DisplayName
	pv[270] = a.DisplayName
	if pv[270] == "" {
		pv[270] = a.Extension
	}
	codecs := a.Codecs
	if len(codecs) == 0 {
		codecs = in.Site.Codecs
	}
	for i, c := range codecs {
		pv[[]int{57, 58, 59, 60, 61, 62, 46, 98}[i]] = strconv.Itoa(appliance.Codecs[c])
	}
	keys := make([]int, 0, len(pv))
	for k := range pv {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gs_provision version=\"1\">\n  <mac>" + in.MAC.Lower() + "</mac>\n  <config version=\"1\">\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "    <P%d>", k)
		xml.EscapeText(&b, []byte(pv[k]))
		fmt.Fprintf(&b, "</P%d>\n", k)
	}
	b.WriteString("  </config>\n</gs_provision>\n")
	return b.Bytes(), nil
}
