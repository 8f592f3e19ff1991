package web

import (
	"net/http"
	"time"
)

// deadlineWriter is a streaming response (an export) that pushes its write
// deadline forward as it writes, so the server's WriteTimeout bounds a
// stalled client, not a long download.
type deadlineWriter struct {
	http.ResponseWriter
	rc     *http.ResponseController
	d      time.Duration
	now    func() time.Time
	pushed time.Time
}

// streaming wraps w for a long response; with no WriteTimeout configured it
// returns w as is.
func (s *Server) streaming(w http.ResponseWriter) http.ResponseWriter {
	if s.opts.WriteTimeout <= 0 {
		return w
	}
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: s.opts.WriteTimeout, now: time.Now}
	dw.push()
	return dw
}

// push moves the deadline to a full WriteTimeout from now, at most a few
// times per period.
func (dw *deadlineWriter) push() {
	now := dw.now()
	if now.Sub(dw.pushed) < dw.d/4 {
		return
	}
	dw.pushed = now
	// An error means the writer cannot change deadlines (e.g. in a
	// recorder); the server's own timeout then applies.
	_ = dw.rc.SetWriteDeadline(now.Add(dw.d))
}

func (dw *deadlineWriter) Write(b []byte) (int, error) {
	dw.push()
	return dw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (dw *deadlineWriter) Unwrap() http.ResponseWriter { return dw.ResponseWriter }
