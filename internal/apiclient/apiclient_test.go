package apiclient

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// box answers like pnpd's API: 401 without admin's password, the body
// echoed back with its Content-Type, errors as {"error": …}.
func box(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != "admin" || pw != "pw-secret" {
			http.Error(w, `{"error":"log in"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("X-Content-Type", r.Header.Get("Content-Type"))
			io.Copy(w, r.Body)
		case "/conflict":
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"phone busy"}`)
		case "/plain":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "upstream gone\n")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClient(t *testing.T) {
	srv := box(t)
	c := New(srv.URL, "pw-secret")

	res, err := c.JSON(t.Context(), "PUT", "/echo", `{"n":1}`)
	if err != nil || res.Code != 200 || res.Header.Get("X-Content-Type") != "application/json" || res.Err() != nil {
		t.Fatalf("JSON: %v %+v", err, res)
	}
	var out struct{ N int }
	if err := res.Decode(&out); err != nil || out.N != 1 {
		t.Errorf("Decode: %v %+v", err, out)
	}
	if res, _ := c.JSON(t.Context(), "GET", "/echo", ""); res.Header.Get("X-Content-Type") != "" {
		t.Errorf("a request without body was labelled %q", res.Header.Get("X-Content-Type"))
	}
	if err := c.Expect(t.Context(), "PUT", "/echo", `{"n":2}`, &out); err != nil || out.N != 2 {
		t.Errorf("Expect: %v %+v", err, out)
	}

	for _, tt := range []struct {
		client *Client
		path   string
		code   int
		msg    string
	}{
		{c, "/conflict", 409, "phone busy"},
		{c, "/plain", 502, "upstream gone"},
		{New(srv.URL, "wrong"), "/echo", 401, "log in"},
		{New(srv.URL, ""), "/echo", 401, "log in"},
	} {
		err := tt.client.Expect(t.Context(), "POST", tt.path, "", nil)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != tt.code || se.Message != tt.msg || !strings.Contains(err.Error(), "POST "+tt.path) {
			t.Errorf("Expect %s: %v; want a StatusError %d %q", tt.path, err, tt.code, tt.msg)
		}
	}

	if _, err := New("http://127.0.0.1:1", "x").Do(t.Context(), "GET", "/", "", nil); err == nil {
		t.Error("a request to a closed port did not fail")
	}
	if err := (&Response{Method: "GET", Path: "/x", Body: []byte("not json")}).Decode(&out); err == nil || !strings.Contains(err.Error(), "not json") {
		t.Errorf("Decode of a bad body: %v", err)
	}
}
