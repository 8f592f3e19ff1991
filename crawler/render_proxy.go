package crawler

import (
	"bufio"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// refuseProxy is the proxy Chromium is started with. Every request a page
// makes is intercepted and fetched by the crawler itself, so a connection
// that reaches this proxy went around the interception (a WebSocket, a
// service worker, the browser's own traffic): it is refused and logged.
type refuseProxy struct {
	ln      net.Listener
	log     *slog.Logger
	refused atomic.Int64
	wg      sync.WaitGroup
}

func newRefuseProxy(log *slog.Logger) (*refuseProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &refuseProxy{ln: ln, log: log}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *refuseProxy) addr() string { return p.ln.Addr().String() }

func (p *refuseProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.refuse(c)
		}()
	}
}

// refuse reads the request line, answers 403 and hangs up.
func (p *refuseProxy) refuse(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReaderSize(c, 4096).ReadString('\n')
	line = strings.TrimSpace(line)
	if len(line) > 300 {
		line = line[:300]
	}
	p.refused.Add(1)
	// Chromium's own background traffic ends here too, hence debug level.
	p.log.Debug("browser request outside the interception refused", "request", line)
	c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
}

func (p *refuseProxy) close() {
	p.ln.Close()
	p.wg.Wait()
}
