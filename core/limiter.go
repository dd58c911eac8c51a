package core

import "time"

// targetLimiter allows burst replies per target per gap (counted from the
// first of them), and remembers at most max targets: a sender chooses the
// address it names or sends from, so what a limit keyed by it keeps must be
// bounded whatever senders do. A target not seen within gap is forgotten
// when the limiter is swept (on a timer, and when it is full); while it is
// full of targets seen within gap, a new target is refused (the caller
// counts it).
type targetLimiter struct {
	gap   time.Duration
	burst int
	max   int
	last  map[string]window // each target's current window
	swept time.Time         // when the limiter was last swept because it was full
}

// window is when a target's window of gap started, and how many replies it
// had in it.
type window struct {
	start time.Time
	n     int
}

func newTargetLimiter(gap time.Duration, burst, max int) targetLimiter {
	return targetLimiter{gap: gap, burst: burst, max: max}
}

// allow reports whether target may be sent a reply at now, and if so counts
// it.
func (l *targetLimiter) allow(now time.Time, target string) bool {
	if w, ok := l.last[target]; ok {
		switch {
		case now.Sub(w.start) >= l.gap:
			w = window{start: now}
		case w.n >= l.burst:
			return false
		}
		w.n++
		l.last[target] = w
		return true
	}
	if len(l.last) >= l.max {
		// Sweep a full limiter at most once per quarter gap: under a flood
		// of new targets, a sweep per target would cost O(max) each.
		if now.Sub(l.swept) < l.gap/4 {
			return false
		}
		l.swept = now
		l.sweep(now)
		if len(l.last) >= l.max {
			return false
		}
	}
	if l.last == nil {
		l.last = map[string]window{}
	}
	l.last[target] = window{start: now, n: 1}
	return true
}

// sweep forgets the targets that no longer limit anything. A map emptied by
// the sweep is let go (Go maps do not shrink), so a limiter a flood filled
// returns its memory once the flood is over.
func (l *targetLimiter) sweep(now time.Time) {
	for a, w := range l.last {
		if now.Sub(w.start) >= l.gap {
			delete(l.last, a)
		}
	}
	if len(l.last) == 0 {
		l.last = nil
	}
}

// len returns the number of targets remembered.
func (l *targetLimiter) len() int { return len(l.last) }

// tokenBucket allows rate events per interval on average, and bursts of up
// to burst: a global limit, which no choice of senders can get around.
type tokenBucket struct {
	interval time.Duration
	rate     float64 // tokens added per interval
	burst    float64
	tokens   float64
	at       time.Time // when tokens was last brought up to date
}

func newTokenBucket(rate, burst int, interval time.Duration) tokenBucket {
	return tokenBucket{interval: interval, rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

// take reports whether an event may happen at now, and if so spends a token.
func (b *tokenBucket) take(now time.Time) bool {
	if !b.at.IsZero() {
		if d := now.Sub(b.at); d > 0 {
			b.tokens = min(b.burst, b.tokens+b.rate*float64(d)/float64(b.interval))
		}
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
