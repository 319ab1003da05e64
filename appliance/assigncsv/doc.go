// Package assigncsv reads and writes the installer's spreadsheet of
// assignments: CSV with a header row, one phone per row. It knows the
// format (columns, the compact forms of codecs and keys, line numbers for
// errors); what a row means for the box (validation against the model and
// the other assignments, the import itself) is the coordinator's.
//
// Columns, in any order, names case-insensitive:
//
//	mac, extension, password, display_name, auth_id, sip_server, codecs, keys, model
//
// mac is required; the others may be left out, and a column left out
// leaves that field of an existing assignment as it is.
//
// codecs are codec names separated by ';': "PCMU;G722".
//
// keys are the programmable keys in order (the first is the first key),
// separated by '|'; each key is type:value:label, optionally followed by
// :account (1-based). Trailing empty parts may be left out. A ':', '|' or
// '\' inside a value or label is written with a backslash before it:
//
//	blf:201:Reception|speed_dial:+15551234:Office\: main|none|blf:301::2
//
// is a BLF on 201 labelled Reception, a speed dial labelled "Office: main",
// an unused key, and a BLF on 301 for account 2.
package assigncsv
