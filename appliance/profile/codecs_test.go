package profile

import (
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestEveryCodecHasAVocoderCode: a codec the API accepts can be rendered.
func TestEveryCodecHasAVocoderCode(t *testing.T) {
	for _, c := range appliance.Codecs {
		if _, ok := vocoderCodes[c]; !ok {
			t.Errorf("codec %s has no Grandstream vocoder code", c)
		}
	}
	if len(vocoderCodes) != len(appliance.Codecs) {
		t.Errorf("%d vocoder codes for %d codecs", len(vocoderCodes), len(appliance.Codecs))
	}
}
