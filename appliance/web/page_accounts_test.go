package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pnpbox/pnpbox/appliance"
)

// TestEditFormAccountsAndURLForm: accounts 2 onwards and the phone's
// NOTIFY URL form are edited in the form; passwords stay write-only; the
// model's account count is the limit, with the API's words beside the
// field; raw P-values are kept and said to exist.
func TestEditFormAccountsAndURLForm(t *testing.T) {
	b := newPageBox(t, true)
	b.login()
	m := pageMAC(t, "000B82A1B2C3")
	if _, err := b.coord.Assign(m, appliance.Assignment{Extension: "201", Password: "sip-pw-secret-1", Model: "GXP2130",
		Accounts: []appliance.Account{{Extension: "202", Password: "sip-pw-secret-2"}}, PValues: map[string]string{"P30": "ntp.example.net"}}); err != nil {
		t.Fatal(err)
	}
	res, body := b.get("/phones/" + m.String() + "/edit")
	wantPage(t, "edit form", res, body, 200, `name="acc_ext_0" value="202"`, `name="acc_pw_0"`, "set — empty keeps it",
		`name="acc_ext_1" value=""`, "This model has 3 accounts: up to 2 more", "<option selected>auto</option>",
		"1 raw P-value", "PUT /api/phones/000B82A1B2C3/assignment")
	if strings.Contains(body, "sip-pw-secret") {
		t.Error("the form shows a stored password")
	}
	if strings.Contains(body, `name="acc_ext_2"`) {
		t.Error("the form offers a row beyond the model's three accounts")
	}

	save := func(extra url.Values) (int, string) {
		f := url.Values{"do": {"save"}, "extension": {"201"}, "key_rows": {"0"}, "acc_row": {"0", "1"},
			"acc_ext_0": {"202"}, "acc_dn_0": {"Second line"}, "acc_ext_1": {"203"}, "acc_pw_1": {"sip-pw-secret-3"}, "acc_auth_1": {"a203"},
			"notify_url_form": {"folder"}}
		for k, v := range extra {
			f[k] = v
		}
		res, body := b.post("/phones/"+m.String()+"/edit", f)
		return res.StatusCode, body
	}
	if code, body := save(nil); code != 303 {
		t.Fatalf("save: %d\n%s", code, body)
	}
	e, _ := b.coord.Phone(m)
	a := e.Assignment
	want := []appliance.Account{{Extension: "202", Password: "sip-pw-secret-2", DisplayName: "Second line"},
		{Extension: "203", Password: "sip-pw-secret-3", AuthID: "a203"}}
	if len(a.Accounts) != 2 || a.Accounts[0] != want[0] || a.Accounts[1] != want[1] || a.NotifyURLForm != "folder" ||
		a.PValues["P30"] != "ntp.example.net" || a.Password != "sip-pw-secret-1" {
		t.Errorf("stored %+v, want accounts %+v, URL form folder, the P-value and account 1's password kept", a, want)
	}
	res, body = b.get("/phones/" + m.String() + "/edit")
	wantPage(t, "after save", res, body, 200, `name="acc_ext_1" value="203"`, "<option selected>folder</option>")
	if strings.Contains(body, `name="acc_ext_2"`) {
		t.Error("a third extra row on a three-account model")
	}

	// Beyond the model: the API's refusal beside the accounts.
	code, body := save(url.Values{"acc_row": {"0", "1", "2"}, "acc_ext_2": {"204"}})
	if code != 400 || !strings.Contains(body, `id="e-accounts"`) || !strings.Contains(body, "GXP2130 has 3 accounts; at most 2 extra, have 3") {
		t.Errorf("a fourth account on a GXP2130: %d, want 400 and the message beside the accounts\n%s", code, body)
	}
	// A bad value in account 3 sits in its row, the typed values kept.
	code, body = save(url.Values{"acc_ext_1": {"2 03"}})
	if i := strings.Index(body, `name="acc_ext_1" value="2 03"`); code != 400 || i < 0 || !strings.Contains(body[i:], "accounts[1].extension") {
		t.Errorf("bad extension in account 3: %d, message not in its row\n%s", code, body)
	}
	// Emptying an extension removes that account; auto clears the form.
	if code, body := save(url.Values{"acc_ext_0": {""}, "notify_url_form": {"auto"}}); code != 303 {
		t.Fatalf("remove account 2: %d\n%s", code, body)
	}
	e, _ = b.coord.Phone(m)
	if a := e.Assignment; len(a.Accounts) != 1 || a.Accounts[0].Extension != "203" || a.Accounts[0].Password != "sip-pw-secret-3" || a.NotifyURLForm != "" {
		t.Errorf("after removing account 2: %+v", a)
	}
}
