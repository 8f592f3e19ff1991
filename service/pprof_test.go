package service

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"riskmine/config"
)

// TestPprofOwnAddress: web.pprof_addr serves the profiler on its own
// listener; without it nothing listens.
func TestPprofOwnAddress(t *testing.T) {
	w := config.Default().Web
	p, err := startPprof(w, slog.New(slog.DiscardHandler))
	if err != nil || p.server != nil {
		t.Fatalf("no pprof_addr: server %v, err %v", p.server, err)
	}
	w.PprofAddr = "127.0.0.1:0"
	p, err = startPprof(w, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.shutdown(t.Context()) })
	resp, err := http.Get("http://" + p.addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("own address: %d", resp.StatusCode)
	}
}
