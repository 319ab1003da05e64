package profile

import (
	"errors"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

func TestValidate(t *testing.T) {
	keys := func(n int, k appliance.Key) []appliance.Key {
		out := make([]appliance.Key, n)
		for i := range out {
			out[i] = k
		}
		return out
	}
	vm := appliance.Key{Type: "voicemail"}
	for _, tc := range []struct {
		name  string
		model string
		a     appliance.Assignment
		field string // "" for valid
		msg   string // part of the message
	}{
		{"GXP2130 with 2 extra accounts", "GXP2130", appliance.Assignment{Accounts: extraAccounts(2)}, "", ""},
		{"GXP2130 with 3 extra accounts", "GXP2130", appliance.Assignment{Accounts: extraAccounts(3)},
			"accounts", "GXP2130 has 3 accounts; at most 2 extra, have 3"},
		{"GXP2140 with 4 extra accounts", "GXP2140", appliance.Assignment{Accounts: extraAccounts(4)},
			"accounts", "GXP2140 has 4 accounts; at most 3 extra"},
		{"GXP2160 with 5 extra accounts", "gxp2160", appliance.Assignment{Accounts: extraAccounts(5)}, "", ""},
		{"GXP2160 with 6 extra accounts", "GXP2160", appliance.Assignment{Accounts: extraAccounts(6)},
			"accounts", "GXP2160 has 6 accounts; at most 5 extra"},
		// A model not in the table takes account 1 only: never laid out
		// on a guessed model.
		{"unknown model, extra account", "", appliance.Assignment{Accounts: extraAccounts(1)},
			"accounts", `the phone's model is not known yet (it has not announced itself; set "model"), so only account 1 is written; extra accounts are refused, have 1`},
		{"unknown model, account 1 only", "", appliance.Assignment{Codecs: []string{"G722"}}, "", ""},
		{"reported model not in the table", "DP750", appliance.Assignment{Model: "GXP2160", Accounts: extraAccounts(3)},
			"accounts", "model DP750 is not in the model table (docs/models.md), so only account 1 is written"},
		{"the reported model beats the assignment's (GXP1628)", "GXP1628", appliance.Assignment{Model: "GXP2160", Accounts: extraAccounts(3)},
			"accounts", "GXP1628 has 2 accounts; at most 1 extra, have 3"},
		{"the assignment's model when none reported", "", appliance.Assignment{Model: "GXP2160", Accounts: extraAccounts(5)}, "", ""},
		{"the reported model beats the assignment's", "GXP2130", appliance.Assignment{Model: "GXP2160", Accounts: extraAccounts(5)},
			"accounts", "GXP2130 has 3 accounts"},

		{"GXP2130 with 17 keys", "GXP2130", appliance.Assignment{Keys: keys(17, vm)}, "", ""},
		{"GXP2130 with 18 keys", "GXP2130", appliance.Assignment{Keys: keys(18, vm)},
			"keys", "GXP2130 holds 17 keys (8 physical MPKs, then 9 on-screen VPKs after the 3 line keys); have 18"},
		{"GXP2140 with 13 keys", "GXP2140", appliance.Assignment{Keys: keys(13, vm)},
			"keys", "GXP2140 holds 12 keys (12 on-screen VPKs after the 4 line keys); have 13"},
		{"GXP2160 with 42 keys", "GXP2160", appliance.Assignment{Keys: keys(42, vm)}, "", ""},
		{"GXP2160 with 43 keys", "GXP2160", appliance.Assignment{Keys: keys(43, vm)}, "keys", "holds 42 keys"},
		{"unknown model with 1 key", "", appliance.Assignment{Keys: keys(1, vm)},
			"keys", `the phone's model is not known yet (it has not announced itself; set "model"), so no programmable keys are written; have 1`},
		{"model not in the table with 1 key", "GXP9999", appliance.Assignment{Keys: keys(1, vm)},
			"keys", "model GXP9999 is not in the model table (docs/models.md), so no programmable keys are written; have 1"},
		{"model without programmable keys", "GXP1620", appliance.Assignment{Keys: keys(1, vm)},
			"keys", "GXP1620 has no programmable keys the box can set; have 1"},
		{"model whose keys are not sourced", "GRP2624", appliance.Assignment{Keys: keys(1, vm)},
			"keys", "GRP2624 has no programmable keys the box can set (account count and keys not sourced"},
		{"model whose extra accounts are not sourced", "GRP2616", appliance.Assignment{Accounts: extraAccounts(1)},
			"accounts", "GRP2616 takes 1 account(s) from the box (account count and fixed-VPK count not sourced"},
		// Fault 5: a GXP2170 has 48 on-screen keys and no physical ones.
		{"GXP2170 with 36 keys", "GXP2170", appliance.Assignment{Keys: keys(36, vm)}, "", ""},
		{"GXP2170 with 37 keys", "GXP2170", appliance.Assignment{Keys: keys(37, vm)},
			"keys", "GXP2170 holds 36 keys (36 on-screen VPKs after the 12 line keys); have 37"},

		{"unknown key type", "GXP2140", appliance.Assignment{Keys: []appliance.Key{vm, {Type: "hotdesk"}}},
			"keys[1].type", `unknown key type "hotdesk"`},
		{"key type in any case", "GXP2140", appliance.Assignment{Keys: []appliance.Key{{Type: " BLF ", Value: "202"}}}, "", ""},
		{"dnd on an MPK", "GXP2130", appliance.Assignment{Keys: []appliance.Key{{Type: "dnd"}}},
			"keys[0].type", "dnd works on on-screen keys (VPKs) only, and keys[0]…keys[7] are the GXP2130's physical MPKs; move it to keys[8] or later"},
		{"dnd on a VPK", "GXP2130", appliance.Assignment{Keys: append(keys(8, vm), appliance.Key{Type: "dnd"})}, "", ""},
		{"dnd on a model without VPKs", "GXP1628", appliance.Assignment{Keys: []appliance.Key{{Type: "dnd"}}},
			"keys[0].type", "dnd works on on-screen keys (VPKs) only, and the box sets none on the GXP1628"},
		{"dnd on a GXP2140", "GXP2140", appliance.Assignment{Keys: []appliance.Key{{Type: "dnd"}}}, "", ""},
		{"key account beyond the model", "GXP2130", appliance.Assignment{Keys: []appliance.Key{vm, {Type: "voicemail", Account: 4}}},
			"keys[1].account", "GXP2130 has accounts 1-3, have 4"},
		{"key account beyond what the box writes", "GRP2616", appliance.Assignment{Keys: []appliance.Key{{Type: "blf", Value: "1", Account: 2}}},
			"keys[0].account", "GRP2616 takes accounts 1-1 from the box (account count and fixed-VPK count not sourced"},
		{"key account 6 on a GXP2160", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "voicemail", Account: 6}}}, "", ""},
		{"negative key account", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "voicemail", Account: -1}}},
			"keys[0].account", ""},
		{"blf without value", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "blf"}}},
			"keys[0].value", "required for a blf key"},
		{"label too long for a VPK", "GXP2140", appliance.Assignment{Keys: []appliance.Key{{Type: "voicemail", Label: strings.Repeat("x", 33)}}},
			"keys[0].label", "at most 32 characters"},
		{"long label on an MPK", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "voicemail", Label: strings.Repeat("ü", 128)}}}, "", ""},
		{"value too long", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "blf", Value: strings.Repeat("1", 65)}}},
			"keys[0].value", "at most 64 characters"},
		{"control character in a label", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "voicemail", Label: "a\nb"}}},
			"keys[0].label", "control characters"},
		{"non-character in a value", "GXP2160", appliance.Assignment{Keys: []appliance.Key{{Type: "blf", Value: "1\uFFFF"}}},
			"keys[0].value", "U+FFFF"},

		{"bad codec", "GXP2140", appliance.Assignment{Codecs: []string{"PCMU", "speex"}}, "codecs[1]", `unknown codec "speex"`},
		{"duplicate codec", "GXP2140", appliance.Assignment{Codecs: []string{"PCMU", "pcmu"}}, "codecs[1]", "duplicate codec PCMU"},
		{"p_values leading zero", "GXP2140", appliance.Assignment{PValues: map[string]string{"P0047": "x"}},
			"p_values", `"P0047" has a leading zero; write "P47"`},
		{"p_values bad name", "GXP2140", appliance.Assignment{PValues: map[string]string{"p47": "x"}}, "p_values", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.Extension = "201"
			err := Validate(a, tc.model)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *appliance.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate error = %v, want a *appliance.FieldError", err)
			}
			if !errors.Is(err, appliance.ErrInvalid) {
				t.Error("the error does not match appliance.ErrInvalid")
			}
			if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("Validate error = %q, want field %q and a message containing %q", err, tc.field, tc.msg)
			}
			// Render refuses what Validate refuses, with the same error.
			in := input(t, tc.model, appliance.Assignment{Extension: "201"})
			in.Assignment = a
			if _, rerr := Render(in); rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Render error = %v, want %v", rerr, err)
			}
		})
	}
}

func TestLookupModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Model
		ok   bool
	}{
		{"GXP2130", Model{Name: "GXP2130", Accounts: 3, MPKs: 8, VPKs: 12, LineVPKs: 3}, true},
		{"gxp2140", Model{Name: "GXP2140", Accounts: 4, MPKs: 0, VPKs: 16, LineVPKs: 4}, true},
		{" Gxp2160 ", Model{Name: "GXP2160", Accounts: 6, MPKs: 24, VPKs: 24, LineVPKs: 6}, true},
		{"GXP2170", Model{Name: "GXP2170", Accounts: 6, MPKs: 0, VPKs: 48, LineVPKs: 12}, true},
		// Variant letters: the SUBSCRIBE of reference §3.1 says GRP2612W.
		{"GRP2612W", Model{Name: "GRP2612", Accounts: 2, VPKs: 6, LineVPKs: 4}, true},
		{"gxp1610p", Model{Name: "GXP1610", Accounts: 1}, true},
		{"GXP2170X", Model{}, false},
		{"P", Model{}, false},
		{"GXP9999", Model{}, false},
		{"", Model{}, false},
	} {
		got, ok := LookupModel(tc.name)
		// Family, Source and Note are checked by TestModelTable.
		got.Family, got.Source, got.Note = "", "", ""
		if got != tc.want || ok != tc.ok {
			t.Errorf("LookupModel(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
