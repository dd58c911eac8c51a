package bench

import "sync"

// errorLog collects the errors a cluster's background goroutines hit (a
// failed join, a failed start) until the measuring code drains them. Both
// cluster implementations embed it.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

// addErr records err.
func (l *errorLog) addErr(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

// Errors returns the errors recorded since the last call and forgets them.
func (l *errorLog) Errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errs
	l.errs = nil
	return errs
}
