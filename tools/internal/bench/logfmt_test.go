package bench

import (
	"maps"
	"testing"
)

func TestParseLogfmt(t *testing.T) {
	for _, tc := range []struct {
		line string
		want map[string]string
	}{
		{`time=2026-12-01T09:50:04.327Z level=INFO msg="agent started" node=a authority=127.0.0.1:36873 http=127.0.0.1:41569 preset=lan seeds=""`,
			map[string]string{"time": "2026-12-01T09:50:04.327Z", "level": "INFO", "msg": "agent started", "node": "a",
				"authority": "127.0.0.1:36873", "http": "127.0.0.1:41569", "preset": "lan", "seeds": ""}},
		{`level=INFO msg=member node=hs-0-3 from=up to=suspect incarnation=0`,
			map[string]string{"level": "INFO", "msg": "member", "node": "hs-0-3", "from": "up", "to": "suspect", "incarnation": "0"}},
		{`msg="say \"hi\" there" x=1`, map[string]string{"msg": `say "hi" there`, "x": "1"}},
		{`2026/12/01 09:50:04 [WARN] memberlist: something a=b`, map[string]string{"a": "b"}},
		{`msg="unterminated x=1`, map[string]string{"msg": `"unterminated`, "x": "1"}},
		{``, map[string]string{}},
	} {
		if got := parseLogfmt(tc.line); !maps.Equal(got, tc.want) {
			t.Errorf("parseLogfmt(%q)\n got %v\nwant %v", tc.line, got, tc.want)
		}
	}
}

func TestParsePromText(t *testing.T) {
	body := `# HELP hearsay_messages_sent_total Datagrams sent.
# TYPE hearsay_messages_sent_total counter
hearsay_messages_sent_total 1234
hearsay_tick_lag_seconds_total 1.5e-02
hearsay_members{status="up"} 3
hearsay_dropped_total{reason="a b"} 7 1700000000000
broken_line
not_a_number x
`
	got := parsePromText(body)
	want := map[string]float64{
		"hearsay_messages_sent_total":         1234,
		"hearsay_tick_lag_seconds_total":      0.015,
		`hearsay_members{status="up"}`:        3,
		`hearsay_dropped_total{reason="a b"}`: 7,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
