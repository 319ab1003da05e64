package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// apiSpec is openapi.yaml, loaded and checked once, with a router that
// matches request paths against it.
var apiSpec = sync.OnceValues(func() (*apiDoc, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("openapi.yaml")
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI 3 document: %w", err)
	}
	doc.Servers = nil // match paths whatever the test server's address
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &apiDoc{doc: doc, router: r}, nil
})

type apiDoc struct {
	doc    *openapi3.T
	router routers.Router
}

// operations lists every operation the spec describes, as "METHOD /path".
func (d *apiDoc) operations() []string {
	var ops []string
	for path, item := range d.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// specCheck is an http.RoundTripper that checks every answer the handler
// gives against openapi.yaml, and records which operations (and status
// codes) were checked. A mismatch fails t.
type specCheck struct {
	t    testing.TB
	next http.RoundTripper

	mu   sync.Mutex
	seen map[string][]int // "METHOD /path" → status codes checked
}

func (s *specCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	op, err := s.check(req, res.StatusCode, res.Header, body)
	if err != nil {
		s.t.Errorf("%s %s answered %d against openapi.yaml: %v\n%s", req.Method, req.URL.RequestURI(), res.StatusCode, err, truncate(body))
	} else if op != "" {
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[string][]int{}
		}
		s.seen[op] = append(s.seen[op], res.StatusCode)
		s.mu.Unlock()
	}
	return res, nil
}

func (s *specCheck) covered() map[string][]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]int{}
	for k, v := range s.seen {
		out[k] = slices.Clone(v)
	}
	return out
}

// check validates one answer. It returns the operation ("METHOD /path")
// whose description the answer was checked against; "" when the request
// matched no operation (then the answer must be the documented 404 or
// 405, or the login errors that come first).
func (s *specCheck) check(req *http.Request, code int, header http.Header, body []byte) (string, error) {
	spec, err := apiSpec()
	if err != nil {
		return "", err
	}
	if req.Method == http.MethodHead {
		// Every GET route answers HEAD; kin-openapi checks no HEAD answer.
		probe := req.Clone(req.Context())
		probe.Method = http.MethodGet
		if _, _, err := spec.findRoute(probe); err == nil {
			return "", nil
		}
	}
	route, params, err := spec.findRoute(req)
	if err != nil {
		return "", s.checkNoRoute(spec, req, code, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 code,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return "", err
	}
	return req.Method + " " + route.Path, nil
}

// checkNoRoute checks an answer to a request the spec has no operation
// for: when the spec has the path with other methods, 405 with Allow
// naming exactly those; else 404. Under /api/ (and on the page) a missing
// login is answered first.
func (s *specCheck) checkNoRoute(spec *apiDoc, req *http.Request, code int, header http.Header, body []byte) error {
	switch code {
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// net/http's redirect to the cleaned path (or the folder's
		// trailing slash); the client follows it and the answer there is
		// checked in turn.
		if header.Get("Location") == "" {
			return errors.New("a redirect without Location")
		}
		return nil
	}
	want := map[int]string{}
	api := strings.HasPrefix(req.URL.Path, apiPrefix)
	if api {
		want[http.StatusUnauthorized] = "Unauthorized"
		want[http.StatusTooManyRequests] = "Throttled"
	}
	path, allow := spec.allowed(req)
	if len(allow) > 0 {
		want[http.StatusMethodNotAllowed] = "MethodNotAllowed"
		if code == http.StatusMethodNotAllowed {
			if got, w := header.Get("Allow"), strings.Join(allow, ", "); got != w {
				return fmt.Errorf("Allow: %q, the spec has %q for %s", got, w, path)
			}
		}
	} else {
		want[http.StatusNotFound] = "NotFound"
	}
	name, ok := want[code]
	if !ok {
		return fmt.Errorf("the spec has no %s %s, so the answer should be one of %v", req.Method, req.URL.Path, keys(want))
	}
	if !api && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		// Outside the API: net/http's own plain-text answers.
		if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			return fmt.Errorf("Content-Type %q, want text/plain", ct)
		}
		return nil
	}
	// Check against the shared response description with a stand-in
	// operation that has only it.
	resp := spec.doc.Components.Responses[name]
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(code, resp))}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: &routers.Route{Spec: spec.doc, Operation: op}},
		Status:                 code,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// allowed is the spec's path template that req's path matches with some
// method, and the methods it lists for it (HEAD with GET, in the server's
// Allow order).
func (d *apiDoc) allowed(req *http.Request) (string, []string) {
	path := ""
	var allow []string
	for _, m := range methods {
		probe := req.Clone(req.Context())
		probe.Method = m
		if m == http.MethodHead {
			probe.Method = http.MethodGet
		}
		if route, _, err := d.findRoute(probe); err == nil {
			path = route.Path
			allow = append(allow, m)
		}
	}
	return path, allow
}

// findRoute is the router's FindRoute, except that a path parameter is
// never empty: kin-openapi's legacy router matches /api/phones to
// /api/phones/{mac} with mac "", which net/http's mux (the server's)
// never does.
func (d *apiDoc) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return nil, nil, err
	}
	for name, v := range params {
		if v == "" {
			return nil, nil, fmt.Errorf("%s %s: path parameter %s is empty", req.Method, req.URL.Path, name)
		}
	}
	return route, params, nil
}

func keys(m map[int]string) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

func TestOpenAPIDocument(t *testing.T) {
	spec, err := apiSpec()
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.operations()) < 25 {
		t.Errorf("the spec lists only %d operations: %v", len(spec.operations()), spec.operations())
	}
}
