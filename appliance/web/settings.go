package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pnpbox/pnpbox/appliance"
)

// GET|PUT|PATCH /api/settings: the site settings as one JSON object.
//
// PUT merges the fields given into the settings (fields absent keep their
// value; a map such as p_values gains the keys given and keeps the others).
// PATCH is a JSON Merge Patch (RFC 7396): as PUT, except that null removes
// a key — a field goes back to its default, and {"p_values":{"P1":null}}
// removes that one raw value. Either way unknown fields are an error, and a
// secret sent back as the mask GET shows it keeps its stored value.

// masked stands in for a secret in what the API returns.
const masked = "********"

// settingsSecrets lists the secret fields of s: the one place that says
// which settings are secret, for masking what GET shows and for keeping a
// secret a client echoes back as the mask.
func settingsSecrets(s *appliance.Settings) []*string {
	return []*string{&s.PhoneAdminPassword}
}

// maskSettings hides every secret that is set.
func maskSettings(set appliance.Settings) appliance.Settings {
	for _, f := range settingsSecrets(&set) {
		if *f != "" {
			*f = masked
		}
	}
	return set
}

// keepMaskedSecrets puts back the stored value of every secret that next
// holds as the mask: GET shows secrets masked, and a client that writes
// back what it read must not set a password to the mask.
func keepMaskedSecrets(next *appliance.Settings, cur appliance.Settings) {
	nf, cf := settingsSecrets(next), settingsSecrets(&cur)
	for i := range nf {
		if *nf[i] == masked {
			*nf[i] = *cf[i]
		}
	}
}

func (s *server) getSettings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, maskSettings(s.Coord.Settings()))
}

// putSettings merges the fields given (DESIGN.md: "PUT merges the fields
// given").
func (s *server) putSettings(w http.ResponseWriter, r *http.Request) {
	s.editSettings(w, r, decodeOver)
}

// patchSettings applies a JSON Merge Patch (RFC 7396).
func (s *server) patchSettings(w http.ResponseWriter, r *http.Request) {
	s.editSettings(w, r, mergePatch)
}

func (s *server) editSettings(w http.ResponseWriter, r *http.Request, apply func(appliance.Settings, []byte) (appliance.Settings, error)) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "settings: "+err.Error())
		return
	}
	set, err := s.Coord.UpdateSettings(func(cur appliance.Settings) (appliance.Settings, error) {
		next, err := apply(cur, body)
		if err != nil {
			return cur, &appliance.FieldError{Field: "settings", Msg: jsonMsg(err)}
		}
		keepMaskedSecrets(&next, cur)
		return next, nil
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, maskSettings(set))
}

// decodeOver decodes the JSON object body over cur: fields absent keep
// their value, maps gain the keys given. cur is the caller's own copy.
func decodeOver(cur appliance.Settings, body []byte) (appliance.Settings, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&cur)
	return cur, err
}

// mergePatch applies the JSON Merge Patch body to cur (RFC 7396 §2).
func mergePatch(cur appliance.Settings, body []byte) (appliance.Settings, error) {
	var patch any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&patch); err != nil {
		return cur, err
	}
	if _, ok := patch.(map[string]any); !ok {
		return cur, errors.New("a merge patch of the settings is a JSON object")
	}
	doc, err := json.Marshal(cur)
	if err != nil {
		return cur, err
	}
	var target any
	if err := json.Unmarshal(doc, &target); err != nil {
		return cur, err
	}
	merged, err := json.Marshal(mergeValue(target, patch))
	if err != nil {
		return cur, err
	}
	var next appliance.Settings
	dec = json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return cur, err
	}
	return next, nil
}

// mergeValue is RFC 7396's MergePatch(Target, Patch).
func mergeValue(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergeValue(t[k], v)
		}
	}
	return t
}

// jsonMsg says what is wrong with a settings document, without the
// package's "json: " prefix.
func jsonMsg(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("%s: want %s", ute.Field, ute.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
