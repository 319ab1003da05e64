package profile

// vocoderCodes are Grandstream's "preferred vocoder" values for the codec
// names of appliance.Codecs (reference §2.1, FPBX-P).
var vocoderCodes = map[string]int{
	"PCMU": 0, "PCMA": 8, "G722": 9, "G729": 18, "G726-32": 2, "G723": 4, "iLBC": 98, "OPUS": 123,
}
