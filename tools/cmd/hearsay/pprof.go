package main

import (
	"net/http"
	"net/http/pprof"
)

// withPprof serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/ next to api, for --pprof. Off by default: a profile endpoint
// lets anyone who reaches the HTTP API make the agent spend CPU.
//
//	go tool pprof -top 'http://HOST:PORT/debug/pprof/profile?seconds=60'
func withPprof(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	// A profile or a trace takes ?seconds= (30 by default) to answer.
	mux.Handle("GET /debug/pprof/profile", longLived(http.HandlerFunc(pprof.Profile)))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.Handle("GET /debug/pprof/trace", longLived(http.HandlerFunc(pprof.Trace)))
	mux.Handle("/", api)
	return mux
}
