package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Handler is the box's HTTP handler, as New returns it. It is an
// http.Handler; NewPlainServer also answers provisioning files from it
// without net/http.
type Handler struct {
	http.Handler
	s *server
}

// Timeouts and limits of both servers (NewServer, NewPlainServer).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// PlainServer serves the box's plain-HTTP port (-http), where a building's
// phones fetch their configs at once (docs/performance.md). A connection
// whose first request is a GET or HEAD under /p/ is a phone's: fasthttp
// serves it, which answers a small file with far less work per request
// than net/http (no goroutine handoff and background read per request, no
// header map). Every other connection — the page, the API, /healthz —
// goes to NewServer's net/http server, as on the HTTPS port.
//
// On a phone's connection a provisioning file is answered from the same
// answerFile as through net/http, with the same status, headers and body
// (TestPlainServerSameAnswers); any other request on it (a path with
// escapes, another route) is handed to the net/http handler through
// fasthttpadaptor, which reads the request body (at most the route's
// bodyLimit) before the handler runs.
type PlainServer struct {
	page   *http.Server
	phones *fasthttp.Server
	log    *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	pageQ    *connQueue
	phoneQ   *connQueue
	shutdown bool
}

// NewPlainServer returns the server for the plain-HTTP port: page is what
// net/http serves (h itself, or h behind HTTPSOnly); provisioning files
// are answered by h. Serve starts it.
func NewPlainServer(h *Handler, page http.Handler) *PlainServer {
	p := &PlainServer{page: NewServer(page), log: h.s.Log}
	fallback := fasthttpadaptor.NewFastHTTPHandler(withLocalAddr(page))
	p.phones = &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !h.s.serveFileFast(ctx) {
				fallback(ctx)
			}
		},
		ErrorHandler:                 errorAnswer,
		HeaderReceived:               phoneRequestConfig,
		ReadTimeout:                  readHeaderTimeout, // to the end of the header; HeaderReceived extends it for a body
		WriteTimeout:                 writeTimeout,
		IdleTimeout:                  idleTimeout,
		ReadBufferSize:               maxHeaderBytes + 4096, // bounds the header as net/http's MaxHeaderBytes (plus its slack) does
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fastLogger{h.s.Log},
	}
	return p
}

// Serve accepts connections on ln until Shutdown or Close, and returns
// http.ErrServerClosed then; any other error ends it too.
func (p *PlainServer) Serve(ln net.Listener) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return http.ErrServerClosed
	}
	p.ln = ln
	p.pageQ, p.phoneQ = newConnQueue(ln.Addr()), newConnQueue(ln.Addr())
	p.mu.Unlock()

	// Either server ending on its own (it should not) ends Serve too.
	failed := make(chan error, 2)
	serve := func(f func() error) {
		if err := f(); !p.closed() {
			failed <- fmt.Errorf("plain port: a server stopped: %v", err)
			ln.Close()
		}
	}
	go serve(func() error { return p.page.Serve(p.pageQ) })
	go serve(func() error { return p.phones.Serve(p.phoneQ) })
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if p.closed() {
				return http.ErrServerClosed
			}
			select {
			case ferr := <-failed:
				return ferr
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			p.log.Warn("http accept", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go p.route(c)
	}
}

// route reads the first bytes of c's first request (within
// readHeaderTimeout) and hands c to the server for it.
func (p *PlainServer) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(readHeaderTimeout))
	br := bufio.NewReaderSize(c, 16)
	head, _ := br.Peek(len("HEAD /p/"))
	if len(head) == 0 {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, r: br}
	if bytes.HasPrefix(head, []byte("GET /p/")) || bytes.HasPrefix(head, []byte("HEAD /p/")) {
		p.phoneQ.push(pc)
		return
	}
	p.pageQ.push(pc) // net/http answers even a short or broken request
}

func (p *PlainServer) closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shutdown
}

// Shutdown stops accepting, then waits for requests in flight to finish
// (at most until ctx ends) and closes idle connections.
func (p *PlainServer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.shutdown = true
	ln := p.ln
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	err := p.page.Shutdown(ctx)
	if ln != nil {
		err = errors.Join(err, p.phones.ShutdownWithContext(ctx))
	}
	return err
}

// Close closes the listener and every connection at once.
func (p *PlainServer) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Shutdown(ctx)
	return errors.Join(p.page.Close(), ignoreCanceled(err))
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// withLocalAddr gives a request handed on by fasthttpadaptor, whose
// context is fasthttp's, the box's address of the connection as net/http
// would (http.LocalAddrContextKey): provisioning files name it.
func withLocalAddr(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc, ok := r.Context().(*fasthttp.RequestCtx); ok {
			r = r.WithContext(context.WithValue(fc, http.LocalAddrContextKey, fc.LocalAddr()))
		}
		h.ServeHTTP(w, r)
	})
}

// phoneRequestConfig gives a request on a phone's connection, once its
// header is read, the body limit of its route and the time to read it.
func phoneRequestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.ContentLength() == 0 { // a phone's GET: no body to limit, no path to look at
		return fasthttp.RequestConfig{ReadTimeout: readTimeout}
	}
	return fasthttp.RequestConfig{ReadTimeout: readTimeout, MaxRequestBodySize: int(bodyLimit(requestPath(h)))}
}

// requestPath is the path of h's request target, unescaped as sent.
func requestPath(h *fasthttp.RequestHeader) string {
	return string(uriPath(h.RequestURI()))
}

// uriPath is a request target without its query.
func uriPath(uri []byte) []byte {
	path, _, _ := bytes.Cut(uri, []byte("?"))
	return path
}

// setSecurityHeaders is securityHeaders for an answer fasthttp writes.
func setSecurityHeaders(h *fasthttp.ResponseHeader) {
	for _, kv := range securityHeader {
		h.Set(kv[0], kv[1])
	}
}

// errorAnswer answers what fasthttp could not read as net/http would:
// 431 for a header over the limit, 413 (as limitBodies) for a body over
// the route's, 408 for a timeout, else 400.
func errorAnswer(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		ctx.Error("431 Request Header Fields Too Large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		setSecurityHeaders(&ctx.Response.Header)
		ctx.Response.Header.Set("Content-Type", "application/json")
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetConnectionClose()
		ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
		b, _ := json.MarshalIndent(map[string]string{"error": tooLarge(int64(ctx.Request.Header.ContentLength()), bodyLimit(requestPath(&ctx.Request.Header)))}, "", "  ")
		ctx.Write(append(b, '\n'))
	case isTimeout(err):
		ctx.Error("408 Request Timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("400 Bad Request", fasthttp.StatusBadRequest)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fastLogger takes fasthttp's messages. A broken or malformed request
// is logged at debug level without fasthttp's text, which quotes the
// request (a token, a cookie); a panic in a handler, at error level.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	if strings.HasPrefix(format, "panic") {
		l.log.Error("http handler", "err", fmt.Sprintf(format, args...))
		return
	}
	l.log.Debug("http: a request on a phone's connection could not be read or answered")
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connQueue is a net.Listener whose connections route hands over.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) push(c net.Conn) {
	select {
	case q.ch <- c:
	case <-q.done:
		c.Close()
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
