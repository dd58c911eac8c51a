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
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("/", api)
	return mux
}
