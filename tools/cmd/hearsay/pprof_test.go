package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPprofIsOptIn checks that --pprof adds /debug/pprof/ to the API and
// keeps the API itself, and that without it the path is not served.
func TestPprofIsOptIn(t *testing.T) {
	o, err := parseAgentFlags([]string{"--name", "a", "--bind", "127.0.0.1:0", "--pprof"}, io.Discard)
	if err != nil || !o.pprof {
		t.Fatalf("parse --pprof: %+v, %v", o, err)
	}
	if o, _ := parseAgentFlags([]string{"--name", "a", "--bind", "127.0.0.1:0"}, io.Discard); o.pprof {
		t.Fatalf("pprof is on without --pprof")
	}

	api := newHandler(newFakeSource(), nil)
	with := httptest.NewServer(withPprof(api))
	defer with.Close()
	without := httptest.NewServer(api)
	defer without.Close()

	if code, _, body := get(t, with.URL, "/debug/pprof/"); code != 200 || !strings.Contains(body, "profile") {
		t.Errorf("with --pprof: GET /debug/pprof/ = %d %.200s", code, body)
	}
	if code, _, body := get(t, with.URL, "/debug/pprof/cmdline"); code != 200 || body == "" {
		t.Errorf("with --pprof: GET /debug/pprof/cmdline = %d %q", code, body)
	}
	if code, _, body := get(t, with.URL, "/v1/self"); code != 200 || !strings.Contains(body, `"name":"a"`) {
		t.Errorf("with --pprof: GET /v1/self = %d %s", code, body)
	}
	if code, _, _ := get(t, without.URL, "/debug/pprof/"); code != 404 {
		t.Errorf("without --pprof: GET /debug/pprof/ = %d, want 404", code)
	}
}
