package web

import (
	"net/http"
	"net/http/pprof"
)

// ProfilingHandler serves Go's profiler (the index, named profiles, CPU
// profile, trace, command line and symbols) under /debug/pprof/. The
// server mounts it for admins when Options.Profiling is set; serve mounts
// it bare on its own listener for web.pprof_addr. A CPU profile or trace
// must sample for less than the server's write timeout (pprof refuses
// longer ones with a message saying so).
func ProfilingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}
