package main

import (
	"sync"

	metrics "github.com/hashicorp/go-metrics"
)

// transitions counts memberlist's "memberlist.msg.suspect" and
// "memberlist.msg.dead" metrics: memberlist increments them once each time
// this member marks another suspect, and dead or left. It is installed as
// go-metrics' global sink, filtered to those two keys; every other metric
// is dropped by the filter before reaching it.
var (
	transitions     = &transitionSink{}
	transitionsOnce sync.Once
)

func installTransitionSink() {
	transitionsOnce.Do(func() {
		conf := metrics.DefaultConfig("")
		conf.EnableHostname = false
		conf.EnableHostnameLabel = false
		conf.EnableRuntimeMetrics = false // no collector goroutine
		conf.FilterDefault = false
		conf.AllowedPrefixes = []string{"memberlist.msg.suspect", "memberlist.msg.dead"}
		_, _ = metrics.NewGlobal(conf, transitions)
	})
}

type transitionSink struct {
	metrics.BlackholeSink
	mu            sync.Mutex
	suspect, dead uint64
}

type transitionCounts struct{ suspect, dead uint64 }

func (s *transitionSink) counts() transitionCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return transitionCounts{s.suspect, s.dead}
}

// IncrCounter counts the two keys.
func (s *transitionSink) IncrCounter(key []string, val float32) {
	if len(key) != 3 || key[0] != "memberlist" || key[1] != "msg" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch key[2] {
	case "suspect":
		s.suspect += uint64(val)
	case "dead":
		s.dead += uint64(val)
	}
}

// IncrCounterWithLabels counts the two keys, whatever their labels.
func (s *transitionSink) IncrCounterWithLabels(key []string, val float32, _ []metrics.Label) {
	s.IncrCounter(key, val)
}
