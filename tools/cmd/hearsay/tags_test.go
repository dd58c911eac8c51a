package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"
)

// runCmd runs a hearsay command line through run() and returns its exit
// code, stdout and stderr.
func runCmd(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, nil)
	return code, stdout.String(), stderr.String()
}

// A tag change on one agent (hearsay tags) is seen by another agent's
// members, with an update event in its log; the name stays.
func TestAgentTagsChangeSeenByOthers(t *testing.T) {
	agents := startAgents(t, "web-1", "web-2")
	a, b := agents[0], agents[1]
	waitFor(t, "b sees a up", 30*time.Second, func() (bool, string) {
		code, out, _ := runCmd("members", "--http", b.http, "--status", "up")
		return code == 0 && strings.Contains(out, "web-1"), out
	})

	code, out, errOut := runCmd("tags", "--http", a.http, "-set", "zone=eu-2", "-set", "tier=cache", "-delete", "role")
	if code != exitOK {
		t.Fatalf("hearsay tags exited %d: %s", code, errOut)
	}
	if out != "tier=cache\nzone=eu-2\n" {
		t.Errorf("hearsay tags printed %q, want the tags after the change", out)
	}
	want := map[string]string{"tier": "cache", "zone": "eu-2"}
	waitFor(t, "b's members show a's new tags", 30*time.Second, func() (bool, string) {
		code, out, _ := runCmd("members", "--http", b.http, "--format", "json")
		if code != exitOK {
			return false, out
		}
		var ms []Member
		if err := json.Unmarshal([]byte(out), &ms); err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.Authority == a.gossip {
				return m.Name == "web-1" && maps.Equal(m.Tags, want) && m.Status == "up", out
			}
		}
		return false, out
	})
	_, table, _ := runCmd("members", "--http", b.http)
	if !strings.Contains(table, "tier=cache,zone=eu-2") {
		t.Errorf("the members table lacks a's new tags:\n%s", table)
	}
	waitFor(t, "b logs the update", 30*time.Second, func() (bool, string) {
		s := b.stderr.String()
		return strings.Contains(s, "msg=member name=web-1") && strings.Contains(s, "from=up to=up") &&
			strings.Contains(s, `tags="tier=cache,zone=eu-2"`), s
	})

	// Without -set or -delete, tags prints them unchanged.
	if code, out, _ := runCmd("tags", "--http", a.http); code != exitOK || out != "tier=cache\nzone=eu-2\n" {
		t.Errorf("hearsay tags with no change: %d %q", code, out)
	}
}

// PUT /v1/tags refuses what --tag refuses, and anything but JSON.
func TestTagsRequestRefused(t *testing.T) {
	a := startAgent(t, "web-1", "--bind", "127.0.0.1:0", "--tag", "role=db")
	put := func(contentType, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPut, "http://"+a.http+"/v1/tags", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, contentType, body string
		code                    int
		want                    string
	}{
		{"form", "application/x-www-form-urlencoded", "set=x", http.StatusUnsupportedMediaType, "application/json"},
		{"plain text", "text/plain", `{"set":{"zone":"eu"}}`, http.StatusUnsupportedMediaType, "application/json"},
		{"not json", "application/json", `set zone`, http.StatusBadRequest, "want {"},
		{"unknown field", "application/json", `{"add":{"zone":"eu"}}`, http.StatusBadRequest, "unknown field"},
		{"nothing", "application/json", `{}`, http.StatusBadRequest, "nothing to set or delete"},
		{"name", "application/json", `{"set":{"name":"other"}}`, http.StatusBadRequest, "--name, not a tag"},
		{"bad key", "application/json", `{"set":{"a b":"x"}}`, http.StatusBadRequest, "only ASCII letters"},
		{"control", "application/json", `{"set":{"zone":"eu\u001b[31m"}}`, http.StatusBadRequest, "control character"},
		{"both", "application/json", `{"set":{"zone":"eu"},"delete":["zone"]}`, http.StatusBadRequest, "both set and deleted"},
		{"too large", "application/json", fmt.Sprintf(`{"set":{"blob":%q}}`, strings.Repeat("x", 600)), http.StatusBadRequest, "over the limit of 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := put(tt.contentType, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Errorf("PUT /v1/tags %s = %d %q, want %d with %q", tt.body, code, body, tt.code, tt.want)
			}
		})
	}
	if code, out, _ := runCmd("tags", "--http", a.http); code != exitOK || out != "role=db\n" {
		t.Errorf("after refused changes the tags are %q (exit %d), want role=db", out, code)
	}
	code, body := put("application/json; charset=utf-8", `{"set":{"zone":"eu"}}`)
	if code != http.StatusOK || !strings.Contains(body, `"tags":{"role":"db","zone":"eu"}`) {
		t.Errorf("PUT /v1/tags = %d %q, want 200 with both tags", code, body)
	}
}

// hearsay tags refuses a bad command line with exit 2.
func TestTagsCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"tags", "-set", "noequals"},
		{"tags", "-set", "name=x"},
		{"tags", "-delete", "a b"},
		{"tags", "-set", "k=v", "-delete", "k"},
		{"tags", "extra"},
		{"tags", "--http", "nohost"},
	} {
		if code, _, errOut := runCmd(args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d: %s", args, code, exitUsage, errOut)
		}
	}
}
