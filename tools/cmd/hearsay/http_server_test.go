package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serveLimited serves h under limits l on an ephemeral loopback port, as
// the agent does, and returns its address; the server is closed at the
// test's end.
func serveLimited(t *testing.T, h http.Handler, l httpLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h, l, slog.New(slog.DiscardHandler))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(limitListener(ln, l)) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return ln.Addr().String()
}

// dial opens a raw TCP connection that fails every read after 10 s.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitClosed reads c until the server closes it; a read that times out
// (10 s, see dial) means the server kept the connection open.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: the server kept the connection open for 10 s", what)
	}
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
}

func TestHTTPIdleConnectionIsClosed(t *testing.T) {
	l := defaultHTTPLimits
	l.IdleTimeout = 100 * time.Millisecond
	addr := serveLimited(t, okHandler(), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the server closed a keep-alive connection after one request; the idle timeout is not what closed it")
	}
	waitClosed(t, c, "an idle keep-alive connection")
}

func TestHTTPSlowRequestIsClosed(t *testing.T) {
	l := defaultHTTPLimits
	l.ReadHeaderTimeout = 100 * time.Millisecond
	addr := serveLimited(t, okHandler(), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\n"); err != nil { // and never the rest
		t.Fatal(err)
	}
	waitClosed(t, c, "a request whose headers never end")
}

func TestHTTPConnectionLimit(t *testing.T) {
	l := defaultHTTPLimits
	l.MaxConns = 2
	l.ReadHeaderTimeout = time.Minute // the held connections stay until closed
	addr := serveLimited(t, okHandler(), l)
	get := func(timeout time.Duration) error {
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(5 * time.Second); err != nil {
		t.Fatalf("GET with no connection held: %v", err)
	}
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	// While two connections are held, a third is not served.
	if err := get(200 * time.Millisecond); err == nil {
		t.Fatal("GET served with MaxConns connections already open")
	}
	held[0].Close()
	if err := get(10 * time.Second); err != nil {
		t.Fatalf("GET after a held connection closed: %v", err)
	}
}

// TestHTTPWriteTimeout checks that a response slower than the write
// timeout is cut, and that longLived exempts a stream from the read and
// write timeouts.
func TestHTTPWriteTimeout(t *testing.T) {
	l := defaultHTTPLimits
	l.WriteTimeout = 100 * time.Millisecond
	l.ReadTimeout = 100 * time.Millisecond
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * l.WriteTimeout): // past both deadlines
			_, _ = w.Write([]byte("done\n"))
		case <-r.Context().Done():
			_, _ = w.Write([]byte("request context ended\n"))
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/slow", slow)
	mux.Handle("/stream", longLived(slow))
	addr := serveLimited(t, mux, l)
	client := &http.Client{Timeout: 10 * time.Second}

	resp, err := client.Get("http://" + addr + "/slow")
	if err == nil {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil {
			t.Fatalf("GET /slow = %s %q, want the connection cut by the write timeout", resp.Status, body)
		}
	}

	resp, err = client.Get("http://" + addr + "/stream")
	if err != nil {
		t.Fatalf("GET /stream: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "done\n" {
		t.Fatalf("GET /stream = %q, %v; want \"done\\n\": a long-lived stream was cut by a timeout", body, err)
	}
}

// TestAgentHTTPMaxConns checks that the agent serves its API under
// --http-max-conns.
func TestAgentHTTPMaxConns(t *testing.T) {
	a := startAgent(t, "solo", "--bind", "127.0.0.1:0", "--http-max-conns", "1")
	held := dial(t, a.http)
	client := &http.Client{Timeout: 200 * time.Millisecond}
	if resp, err := client.Get("http://" + a.http + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("GET /healthz served while the only connection allowed is held")
	}
	held.Close()
	waitFor(t, "/healthz served once the held connection closed", 10*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.http+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.TrimSpace(string(body)) == "ok", resp.Status
	})
}

// TestHTTPProfileOutlastsWriteTimeout checks that under --pprof a CPU
// profile longer than the write timeout is served, not refused or cut.
func TestHTTPProfileOutlastsWriteTimeout(t *testing.T) {
	l := defaultHTTPLimits
	l.WriteTimeout = 100 * time.Millisecond
	addr := serveLimited(t, withPprof(newHandler(newFakeSource(), nil)), l)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + addr + "/debug/pprof/profile?seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("GET /debug/pprof/profile?seconds=1 = %s, %d bytes, %v; want a profile", resp.Status, len(body), err)
	}
}
