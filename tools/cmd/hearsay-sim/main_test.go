package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// A small crash scenario, in process: the JSON object has every documented
// field, with values that make sense.
func TestJSONReport(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-scenario", "crash", "-nodes", "12", "-seed", "2", "-json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s; stdout: %s", code, errb.String(), out.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	for _, k := range []string{"scenario", "nodes", "seed", "converge_rounds", "epidemic_bound_rounds",
		"detect_seconds_p50", "detect_seconds_max", "false_dead", "msgs_per_node_per_sec",
		"bytes_per_node_per_sec", "virtual_seconds", "wall_seconds"} {
		if _, ok := m[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
	num := func(k string) float64 { f, _ := m[k].(float64); return f }
	if m["scenario"] != "crash" || num("nodes") != 12 || num("seed") != 2 {
		t.Errorf("scenario/nodes/seed: %v %v %v", m["scenario"], m["nodes"], m["seed"])
	}
	if num("detect_seconds_max") <= 0 || num("detect_seconds_p50") > num("detect_seconds_max") {
		t.Errorf("detection: p50 %v, max %v", m["detect_seconds_p50"], m["detect_seconds_max"])
	}
	if num("false_dead") != 0 {
		t.Errorf("false_dead %v", m["false_dead"])
	}
	if want := math.Log(12)/math.Log(4) + math.Log(12)/3; math.Abs(num("epidemic_bound_rounds")-want) > 1e-9 {
		t.Errorf("epidemic_bound_rounds %v, want log_4 12 + ln 12 / 3 = %v", m["epidemic_bound_rounds"], want)
	}
	if num("msgs_per_node_per_sec") <= 0 || num("bytes_per_node_per_sec") <= num("msgs_per_node_per_sec") {
		t.Errorf("traffic: %v msgs, %v bytes per node per second", m["msgs_per_node_per_sec"], m["bytes_per_node_per_sec"])
	}
	if num("virtual_seconds") <= 0 || num("wall_seconds") <= 0 || num("converge_rounds") <= 0 {
		t.Errorf("times: virtual %v, wall %v, converge_rounds %v", m["virtual_seconds"], m["wall_seconds"], m["converge_rounds"])
	}
}

// Without -json the summary names the scenario and lists the checks.
func TestSummary(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-scenario", "leave", "-nodes", "8"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr: %s; stdout: %s", code, errb.String(), out.String())
	}
	for _, want := range []string{"scenario", "leave: 8 nodes", "traffic", "checks:", "ok    left-member-never-dead"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// Bad flags: a clear message on stderr and exit status 2.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "nope"},
		{"-nodes", "1"},
		{"-loss", "1.5"},
		{"-loss", "-0.1"},
		{"-config", "moon"},
		{"-duration", "-1s"},
		{"-nodes", "many"},
		{"-frobnicate"},
		{"extra"},
		{"-set", "MonitorCount"},
		{"-set", "Moon=1"},
		{"-set", "NodeID=x"},
		{"-set", "HeartbeatInterval=soon"},
		{"-set", "MonitorCount=0"},
		{"-set", "ProveMembers=maybe"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 {
			t.Errorf("%v: nothing on stderr", args)
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote to stdout: %s", args, out.String())
		}
	}
}

// -scenario explore runs a range of seeds and ends with a summary line; its
// exit status says whether any seed violated an invariant, and every failing
// seed is printed with the command that replays it.
func TestExploreRange(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-scenario", "explore", "-nodes", "8", "-seeds", "3", "-seed", "5", "-parallel", "2"}, &out, &errb)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d; stderr: %s", code, errb.String())
	}
	text := out.String()
	if !strings.Contains(text, "explore: 3 seeds from 5, 8 nodes, lan config: ") {
		t.Fatalf("no summary line:\n%s", text)
	}
	failed := strings.Count(text, "  replay: hearsay-sim -scenario explore -nodes 8 -seed ")
	if (code == 1) != (failed > 0) || (failed == 0) != strings.Contains(text, ": no violation;") {
		t.Fatalf("exit %d with %d failing seeds printed:\n%s", code, failed, text)
	}
}

// A single seed replays exactly: the same flags print the same report (but
// for the wall time), and a failing seed is shrunk to a schedule whose -keep
// command fails the same way.
func TestExploreReplayAndShrink(t *testing.T) {
	runOnce := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		if errb.Len() > 0 {
			t.Fatalf("%v: stderr: %s", args, errb.String())
		}
		lines := strings.Split(out.String(), "\n")
		for i, l := range lines {
			switch {
			case strings.HasPrefix(l, "explore: "):
				lines[i] = l[:strings.LastIndex(l, ";")+1] // drop the wall time
			case strings.Contains(l, " replays ("):
				lines[i] = l[:strings.Index(l, " replays (")]
			}
		}
		return code, strings.Join(lines, "\n")
	}
	for seed := 1; seed <= 40; seed++ {
		args := []string{"-scenario", "explore", "-nodes", "8", "-seeds", "1", "-seed", strconv.Itoa(seed), "-budget", "60"}
		code, first := runOnce(args...)
		_, second := runOnce(args...)
		if first != second {
			t.Fatalf("seed %d, two runs:\n%s\n---\n%s", seed, first, second)
		}
		if code == 0 {
			continue
		}
		i := strings.LastIndex(first, "replay: hearsay-sim ")
		if !strings.Contains(first, " shrunk for ") || i < 0 || !strings.Contains(first[i:], " -keep ") {
			t.Fatalf("seed %d failed but was not shrunk to a -keep command:\n%s", seed, first)
		}
		replay := strings.Fields(strings.SplitN(first[i+len("replay: hearsay-sim "):], "\n", 2)[0])
		code, again := runOnce(append(replay, "-shrink", "0")...)
		if code != 1 || !strings.Contains(again, "violation") {
			t.Fatalf("seed %d: the shrunk schedule %v passes:\n%s", seed, replay, again)
		}
		return
	}
	t.Log("no seed in 1..40 fails at 8 nodes: each replayed exactly, none to shrink")
}

// Flags that do not fit the explorer, or the scenarios, are refused.
func TestExploreBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "explore", "-nodes", "4"},
		{"-scenario", "explore", "-seeds", "0"},
		{"-scenario", "explore", "-parallel", "0"},
		{"-scenario", "explore", "-seeds", "2", "-keep", "1"},
		{"-scenario", "explore", "-keep", "x"},
		{"-scenario", "explore", "-loss", "0.1"},
		{"-scenario", "explore", "-json"},
		{"-scenario", "explore", "-seeds", "2", "-trace", "1"},
		{"-scenario", "explore", "-trace", "x"},
		{"-scenario", "crash", "-seeds", "3"},
		{"-scenario", "crash", "-trace", "1"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errb.Len() == 0 || out.Len() != 0 {
			t.Errorf("%v: stderr %q, stdout %q", args, errb.String(), out.String())
		}
	}
}

// -set overrides fields of the preset: a crash scenario with three monitors
// at 500 ms heartbeats sends more heartbeats than the preset's one at 550 ms.
func TestSetOverridesThePreset(t *testing.T) {
	traffic := func(args ...string) float64 {
		t.Helper()
		var out, errb bytes.Buffer
		args = append([]string{"-scenario", "bootstrap", "-nodes", "8", "-seed", "1", "-json"}, args...)
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d; stderr: %s", args, code, errb.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		f, _ := m["msgs_per_node_per_sec"].(float64)
		return f
	}
	preset := traffic()
	three := traffic("-set", "MonitorCount=3", "-set", "HeartbeatInterval=500ms")
	if three < 2.5*preset {
		t.Errorf("three monitors at 500 ms: %.2f messages per member per second, the preset %.2f: -set changed nothing", three, preset)
	}
}
