package profile

// accountP holds the P-numbers of one SIP account's settings.
type accountP struct {
	Active, Name, Server, Proxy, UserID, AuthID, Password, DisplayName, Voicemail int
	// Vocoders are the preferred-vocoder choices 1…8, in order.
	Vocoders [8]int
}

// accountPs lists accounts 1…6 (reference §2.1, FPBX-P cross-checked with
// FPBX-21XX and Issabel). Account 1 has its own historical numbers; account
// N ≥ 2 sits in the block 400, 500, 600, 1700, 1800 at the same offsets.
// Wazo's base.tpl computes the block as (N+2)*100, which is right for
// accounts 2–4 only and would put accounts 5 and 6 at 700 and 800.
var accountPs = [...]accountP{
	{Active: 271, Name: 270, Server: 47, Proxy: 48, UserID: 35, AuthID: 36, Password: 34, DisplayName: 3, Voicemail: 33,
		Vocoders: [8]int{57, 58, 59, 60, 61, 62, 46, 98}},
	accountBlock(400),
	accountBlock(500),
	accountBlock(600),
	accountBlock(1700),
	accountBlock(1800),
}

// accountPsGRP lists accounts 1…5 on a GRP26xx: accounts 1-4 as on the
// GXP, account 5 in the 700 block (FPBX-GRP: "Account 5 GRP2615 only",
// P701-P758). Account 6 onwards is not sourced for the GRP.
var accountPsGRP = [...]accountP{accountPs[0], accountPs[1], accountPs[2], accountPs[3], accountBlock(700)}

// accountPs returns the P-numbers of account i+1 (i from 0) on m. The
// model table never gives a model more accounts than its family's list
// holds (a test checks it).
func (m Model) accountP(i int) accountP {
	if m.Family == GRP26xx {
		return accountPsGRP[i]
	}
	return accountPs[i]
}

func accountBlock(b int) accountP {
	return accountP{Active: b + 1, Server: b + 2, Proxy: b + 3, UserID: b + 4, AuthID: b + 5, Password: b + 6,
		DisplayName: b + 7, Name: b + 17, Voicemail: b + 26,
		Vocoders: [8]int{b + 51, b + 52, b + 53, b + 54, b + 55, b + 56, b + 57, b + 58}}
}

// secretPs are the P-values that hold a secret (reference §2.1, §2.2): the
// accounts' SIP passwords (GRP26xx account 5: P706), the admin and end-user passwords, the config and
// firmware HTTP passwords and the XML config file password.
var secretPs = [...]int{34, 406, 506, 606, 706, 1706, 1806, 2, 196, 1361, 6769, 1359}
