package main

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// httpLimits bounds what clients of the HTTP API can hold: every
// connection is closed when it is idle, slow to send its request or slow to
// take its response, and at most MaxConns are served at once (the others
// wait in the listen queue until one closes).
type httpLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout the
	// whole request.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from when its handler
	// starts; long-lived streams are exempt (longLived).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits this long for
	// its next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once (--http-max-conns).
	MaxConns int
}

// defaultHTTPLimits are the agent's limits. The API's responses are small
// (a member list of a few thousand records is written well within the
// write timeout) and its clients are scrapers, the members command and the
// live page, which need few connections each.
var defaultHTTPLimits = httpLimits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      10 * time.Second,
	IdleTimeout:       30 * time.Second,
	MaxHeaderBytes:    16 << 10,
	MaxConns:          128,
}

// newHTTPServer returns a server of h under limits l; serve it on a
// listener from limitListener.
//
// The write timeout is a deadline each request sets when its handler
// starts (withWriteTimeout), rather than http.Server.WriteTimeout, so that
// a long-lived handler can lift it for its own request (longLived) and so
// that net/http/pprof, which refuses a profile longer than the server's
// WriteTimeout, can profile for a minute under --pprof.
func newHTTPServer(h http.Handler, l httpLimits, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           withWriteTimeout(h, l.WriteTimeout),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// withWriteTimeout gives every response of h d to be written, from when
// its handler starts.
func withWriteTimeout(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An error means the writer cannot have deadlines (a test
		// recorder): there is then nothing to bound.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
		h.ServeHTTP(w, r)
	})
}

// limitListener returns ln accepting at most l.MaxConns connections open
// at once.
func limitListener(ln net.Listener, l httpLimits) net.Listener {
	return netutil.LimitListener(ln, l.MaxConns)
}

// longLived exempts a streaming handler (Server-Sent Events) from the
// server's write timeout, for its own requests only: it clears the
// connection's write deadline before h runs. (The read timeout needs no
// exemption: once a request without a body is read, net/http clears the
// read deadline while the handler runs.) The connection still counts
// against MaxConns, and h must end when the request's context does.
func longLived(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An error means the writer cannot have deadlines (a test
		// recorder): there is then nothing to clear.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		h.ServeHTTP(w, r)
	})
}
