package profile

import (
	"bytes"
	"encoding/xml"
	"strconv"
)

// Render returns the phone's config as gs_provision v1 XML (reference
// §1.1): the MAC in lower case, then one element per P-value in ascending
// order, two-space indentation. Equal input gives equal bytes. Invalid
// input gives a *appliance.FieldError naming the field.
func Render(in Input) ([]byte, error) {
	c, err := build(in)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	b.WriteString("<gs_provision version=\"1\">\n")
	b.WriteString("  <mac>" + in.MAC.Lower() + "</mac>\n")
	b.WriteString("  <config version=\"1\">\n")
	for _, p := range c.numbers() {
		name := "P" + strconv.Itoa(p)
		b.WriteString("    <" + name + ">")
		// EscapeText only fails when its writer does; bytes.Buffer does not.
		_ = xml.EscapeText(&b, []byte(c[p].value))
		b.WriteString("</" + name + ">\n")
	}
	b.WriteString("  </config>\n")
	b.WriteString("</gs_provision>\n")
	return b.Bytes(), nil
}
