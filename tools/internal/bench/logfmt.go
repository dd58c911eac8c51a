package bench

import (
	"strconv"
	"strings"
)

// parseLogfmt splits one line of a log/slog text handler's output
// (`time=... level=INFO msg="agent started" node=a authority=127.0.0.1:1`)
// into its keys and values; quoted values are unquoted. A token without '='
// is ignored, and a value whose quoting is broken is kept as written.
func parseLogfmt(line string) map[string]string {
	kv := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		sp := strings.IndexByte(line, ' ')
		if eq < 0 {
			break
		}
		if sp >= 0 && sp < eq { // a token without '='
			line = line[sp:]
			continue
		}
		key, rest := line[:eq], line[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				val, _ = strconv.Unquote(q)
				rest = rest[len(q):]
			} else {
				val, rest = cutSpace(rest)
			}
		} else {
			val, rest = cutSpace(rest)
		}
		kv[key] = val
		line = rest
	}
	return kv
}

func cutSpace(s string) (string, string) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// parsePromText reads the samples of a Prometheus text exposition: series
// ("name" or `name{label="v"}`, as written) → value. Comments, blank lines
// and lines that do not parse are skipped; a timestamp after the value is
// ignored.
func parsePromText(body string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		var series, rest string
		if i := strings.IndexByte(line, '}'); i >= 0 && strings.IndexByte(line, '{') >= 0 {
			series, rest = line[:i+1], line[i+1:]
		} else {
			series, rest, _ = strings.Cut(line, " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[series] = v
	}
	return out
}
