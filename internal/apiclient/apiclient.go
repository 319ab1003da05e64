// Package apiclient is a small client for pnpd's HTTP API as admin (HTTP
// Basic "admin:<password>", DESIGN.md "HTTP"), shared by the daemon's
// tests, the end-to-end tests and the demo driver so that each does not
// build its own requests.
package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// User is the one account the API knows.
const User = "admin"

// Client sends requests to one box. The zero value is not usable: set
// Base. A Client is safe for concurrent use when HTTP is.
type Client struct {
	// Base is the box's URL without a trailing slash, such as
	// http://127.0.0.1:8080.
	Base string
	// Password is admin's password; "" sends no credentials.
	Password string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// New returns a client for the box at base that logs in with password.
func New(base, password string) *Client {
	return &Client{Base: base, Password: password}
}

// Response is an answer read in full.
type Response struct {
	Method, Path string // of the request, for messages
	Code         int
	Header       http.Header
	Body         []byte
}

// Do sends method path (with its query) with body, labelled contentType
// when that is not "", and reads the whole answer. The error is a failed
// request (transport, unreadable body), never a status code.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body io.Reader) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, err
	}
	if c.Password != "" {
		req.SetBasicAuth(User, c.Password)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return &Response{Method: method, Path: path, Code: res.StatusCode, Header: res.Header, Body: b}, nil
}

// JSON sends body (a JSON document, or "" for none) as application/json.
func (c *Client) JSON(ctx context.Context, method, path, body string) (*Response, error) {
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return c.Do(ctx, method, path, ct, strings.NewReader(body))
}

// Decode unmarshals the body into out; it does nothing when out is nil or
// the body is empty.
func (r *Response) Decode(out any) error {
	if out == nil || len(r.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("%s %s: %w: %s", r.Method, r.Path, err, r.Body)
	}
	return nil
}

// StatusError is an answer outside 2xx.
type StatusError struct {
	Method, Path string
	Code         int
	// Message is the API's {"error": …}, else the body as text.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Code, http.StatusText(e.Code), e.Message)
}

// Err is nil for a 2xx answer, else a *StatusError.
func (r *Response) Err() error {
	if r.Code >= 200 && r.Code < 300 {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(r.Body))
	if json.Unmarshal(r.Body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return &StatusError{Method: r.Method, Path: r.Path, Code: r.Code, Message: msg}
}

// Expect sends a JSON request that must succeed: an answer outside 2xx is
// a *StatusError; a 2xx body is decoded into out (when not nil).
func (c *Client) Expect(ctx context.Context, method, path, body string, out any) error {
	res, err := c.JSON(ctx, method, path, body)
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	return res.Decode(out)
}

// TB is the part of testing.TB the test helpers use.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Context() context.Context
}

// Call is JSON for tests: it decodes the body, whatever the status, into
// out (when not nil) and returns the status code; a failed request or an
// undecodable body fails t.
func (c *Client) Call(t TB, method, path, body string, out any) int {
	t.Helper()
	res, err := c.JSON(t.Context(), method, path, body)
	if err == nil {
		err = res.Decode(out)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	return res.Code
}

// Fetch is Do for tests: a failed request fails t.
func (c *Client) Fetch(t TB, method, path, contentType string, body io.Reader) *Response {
	t.Helper()
	res, err := c.Do(t.Context(), method, path, contentType, body)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return res
}
