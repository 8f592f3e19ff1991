package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"riskmine/config"
	"riskmine/web"
)

// pprofServer is the own listener of web.pprof_addr, if any.
type pprofServer struct {
	server *http.Server
	addr   string
}

// startPprof serves /debug/pprof/ on web.pprof_addr when set (no login:
// the address is meant for loopback or an operations network). With
// web.pprof the web server itself serves it to admins instead.
func startPprof(w config.Web, log *slog.Logger) (*pprofServer, error) {
	p := &pprofServer{}
	if w.PprofAddr == "" {
		return p, nil
	}
	ln, err := net.Listen("tcp", w.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("web.pprof_addr: listen on %s: %w", w.PprofAddr, err)
	}
	p.server = newHTTPServer(w, web.ProfilingHandler())
	p.addr = ln.Addr().String()
	go func() {
		if err := p.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("profiler server stopped", "error", err)
		}
	}()
	log.Info("profiler served", "addr", p.addr)
	return p, nil
}

func (p *pprofServer) shutdown(ctx context.Context) error {
	if p == nil || p.server == nil {
		return nil
	}
	return p.server.Shutdown(ctx)
}
