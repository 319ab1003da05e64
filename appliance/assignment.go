package appliance

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Assignment is the vendor-neutral account plan for one phone: what the
// installer entered. Account 1 is the top-level fields; Accounts holds
// account 2 onwards on models that have them.
type Assignment struct {
	Extension   string            `json:"extension"`
	Password    string            `json:"password,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	AuthID      string            `json:"auth_id,omitempty"` // default: Extension
	SIPServer   string            `json:"sip_server,omitempty"`
	Codecs      []string          `json:"codecs,omitempty"` // default: the site's
	Keys        []Key             `json:"keys,omitempty"`
	Accounts    []Account         `json:"accounts,omitempty"`
	PValues     map[string]string `json:"p_values,omitempty"`
	// Model is the model the installer expects (CSV import, pre-staging);
	// the model the phone reports wins once it has been seen.
	Model string `json:"model,omitempty"`
	// NotifyURLForm is this phone's NOTIFY URL form (URLFormFile or
	// URLFormFolder), for a phone whose firmware wants the other form
	// than its family's; "" (or URLFormAuto, stored as "") defers to the
	// site setting.
	NotifyURLForm string `json:"notify_url_form,omitempty"`
}

// Account is one extra SIP account (account 2 onwards).
type Account struct {
	Extension   string `json:"extension"`
	Password    string `json:"password,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	AuthID      string `json:"auth_id,omitempty"`
	SIPServer   string `json:"sip_server,omitempty"`
}

// Key is one programmable key, vendor-neutral. Account is 1-based (0 means 1).
type Key struct {
	Type    string `json:"type"`
	Value   string `json:"value,omitempty"`
	Label   string `json:"label,omitempty"`
	Account int    `json:"account,omitempty"`
}

// FieldError names the input field that is wrong and why. Every validation
// failure is one, so the API can say exactly what to fix.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ErrInvalid is matched (errors.Is) by every *FieldError.
var ErrInvalid = errors.New("invalid input")

// Is lets errors.Is(err, ErrInvalid) match a *FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Codecs are the codec names an assignment or the site may list, in their
// canonical spelling. How a vendor writes each one into a config is the
// profile package's business.
var Codecs = []string{"PCMU", "PCMA", "G722", "G729", "G726-32", "G723", "iLBC", "OPUS"}

// CanonicalCodec returns the spelling of a codec name used in Codecs,
// matching case-insensitively, and false if the codec is unknown.
func CanonicalCodec(name string) (string, bool) {
	for _, k := range Codecs {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// NormalizeCodecs validates a codec list (known, no duplicates) and returns
// it in canonical spelling. field names the input for the error.
func NormalizeCodecs(field string, in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > 8 {
		return nil, fieldErr(field, "at most 8 codecs, have %d", len(in))
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for i, c := range in {
		k, ok := CanonicalCodec(strings.TrimSpace(c))
		if !ok {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "unknown codec %q (known: PCMU, PCMA, G722, G729, G726-32, G723, iLBC, OPUS)", c)
		}
		if seen[k] {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "duplicate codec %s", k)
		}
		seen[k] = true
		out = append(out, k)
	}
	return out, nil
}

// Normalize validates a and returns a cleaned copy (trimmed strings,
// canonical codec names). Model-specific limits (how many accounts and keys
// fit) and the raw vendor values (PValues) are checked by the profile
// package, which knows the models and the vendor's syntax.
func (a Assignment) Normalize() (Assignment, error) {
	a.Extension = strings.TrimSpace(a.Extension)
	a.AuthID = strings.TrimSpace(a.AuthID)
	a.SIPServer = CleanServer(a.SIPServer)
	a.Model = strings.ToUpper(strings.TrimSpace(a.Model))
	if err := ValidateSIPUser("extension", a.Extension, true); err != nil {
		return a, err
	}
	if err := ValidateSIPUser("auth_id", a.AuthID, false); err != nil {
		return a, err
	}
	if err := ValidatePassword("password", a.Password); err != nil {
		return a, err
	}
	if err := ValidateDisplayName("display_name", a.DisplayName); err != nil {
		return a, err
	}
	if err := ValidateServer("sip_server", a.SIPServer); err != nil {
		return a, err
	}
	codecs, err := NormalizeCodecs("codecs", a.Codecs)
	if err != nil {
		return a, err
	}
	a.Codecs = codecs
	a.NotifyURLForm = strings.ToLower(strings.TrimSpace(a.NotifyURLForm))
	if a.NotifyURLForm == URLFormAuto {
		a.NotifyURLForm = ""
	}
	if err := validateURLForm("notify_url_form", a.NotifyURLForm); err != nil {
		return a, err
	}
	if a.Model != "" && !isModelName(a.Model) {
		return a, fieldErr("model", "%q is not a model name", a.Model)
	}
	accounts := make([]Account, len(a.Accounts))
	for i, acc := range a.Accounts {
		f := fmt.Sprintf("accounts[%d].", i)
		acc.Extension = strings.TrimSpace(acc.Extension)
		acc.AuthID = strings.TrimSpace(acc.AuthID)
		acc.SIPServer = CleanServer(acc.SIPServer)
		if err := ValidateSIPUser(f+"extension", acc.Extension, true); err != nil {
			return a, err
		}
		if err := ValidateSIPUser(f+"auth_id", acc.AuthID, false); err != nil {
			return a, err
		}
		if err := ValidatePassword(f+"password", acc.Password); err != nil {
			return a, err
		}
		if err := ValidateDisplayName(f+"display_name", acc.DisplayName); err != nil {
			return a, err
		}
		if err := ValidateServer(f+"sip_server", acc.SIPServer); err != nil {
			return a, err
		}
		accounts[i] = acc
	}
	if len(accounts) == 0 {
		accounts = nil
	}
	a.Accounts = accounts
	// PValues are vendor syntax: profile.Validate checks them.
	return a, nil
}

// ValidateSIPUser checks a SIP user part (RFC 3261 §25.1 "user": unreserved,
// user-unreserved and %HH escapes).
func ValidateSIPUser(field, s string, required bool) error {
	if s == "" {
		if required {
			return fieldErr(field, "required")
		}
		return nil
	}
	if len(s) > 64 {
		return fieldErr(field, "at most 64 characters, have %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return fieldErr(field, "%q is not allowed in a SIP user name (letters, digits and -_.!~*'()&=+$,;?/ only)", string(rune(c)))
		}
	}
	return nil
}

// ValidatePassword checks a SIP password: printable ASCII, at most 64.
func ValidatePassword(field, s string) error {
	if len(s) > 64 {
		return fieldErr(field, "at most 64 characters, have %d", len(s))
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fieldErr(field, "only printable ASCII characters are allowed")
		}
	}
	return nil
}

// ValidateDisplayName checks a display name: any UTF-8 text without
// control characters, at most 64 characters.
func ValidateDisplayName(field, s string) error {
	if !utf8.ValidString(s) {
		return fieldErr(field, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > 64 {
		return fieldErr(field, "at most 64 characters, have %d", n)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fieldErr(field, "control characters are not allowed")
		}
	}
	return nil
}

// CleanServer trims a SIP server and drops a leading "sip:" (any case):
// PBXs show their registrar as a SIP URI ("sip:pbx.example.test") and
// installers copy it as shown; the phone's server field takes the host.
// "sips:" is kept, so that ValidateServer refuses it: TLS is a separate
// phone setting, not part of the host.
func CleanServer(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 4 && strings.EqualFold(s[:4], "sip:") {
		s = s[4:]
	}
	return s
}

// ValidateServer checks "host", "host:port", "ip" or "ip:port".
func ValidateServer(field, s string) error {
	if s == "" {
		return nil
	}
	if i := strings.Index(s, ":"); i > 0 && !strings.ContainsAny(s[:i], ".[") && !isDigits(s[i+1:]) && net.ParseIP(s) == nil {
		// "sips:host", "http://host": a URI scheme, not a port.
		return fieldErr(field, "write the host without %q (host or host:port)", s[:i+1])
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fieldErr(field, "port %q is not 1-65535", port)
		}
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if !isHostname(host) {
		return fieldErr(field, "%q is not a host name or IP address", s)
	}
	return nil
}

func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isModelName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
