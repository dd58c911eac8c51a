package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHscheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"node_id":"a","authority":"h:1","status":"up","incarnation":1,"meta":""},` +
			`{"node_id":"b","authority":"h:2","status":"dead","incarnation":1,"meta":""}]`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"-expect", "h:1=up,h:2=dead", "-count", "2"}, 0},
		{[]string{"-at-least", "dead=1"}, 0},
		{[]string{"-expect", "h:2=up"}, 1},
		{[]string{"-count", "3"}, 1},
		{[]string{"-at-least", "dead=2"}, 1},
		{[]string{"-expect", "nonsense"}, 2},
		{[]string{}, 2},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		args := append([]string{"-views", addr, "-timeout", "300ms", "-what", "t"}, tt.args...)
		if code := run(args, &out, &errOut); code != tt.code {
			t.Errorf("hscheck %q = %d, want %d\n%s%s", tt.args, code, tt.code, out.String(), errOut.String())
		}
	}
}
