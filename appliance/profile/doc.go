// Package profile renders the configuration file a Grandstream desk phone
// (GXP16xx, GXP17xx, GXP21xx, GRP26xx: the model table, docs/models.md)
// downloads from the box: gs_provision XML with one element per P-value
// (reference §1.1), or the legacy binary cfg<mac> encoding of the same
// values (§1.3). A model not in the table gets account 1, codecs and the
// site settings; what would need its layout is refused, never guessed.
//
// A config is built in layers, each overriding the one before: values that
// switch off what the assignment does not use (for a known model), the site
// settings, the site's raw p_values, the model's raw p_values, the phone's
// assignment, and the assignment's raw p_values. The output depends on the
// input alone — P-values sorted by number, no timestamps — so a phone that
// downloads its config again gets the same bytes and does not re-flash.
//
// Everything here is a pure function of its arguments and safe for
// concurrent use; GeneratePassword reads crypto/rand.
package profile
