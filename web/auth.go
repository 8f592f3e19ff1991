package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
)

const (
	sessionCookie = "riskmine_session"
	langCookie    = "riskmine_lang"
	loginCSRF     = "riskmine_login_csrf"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// principal is who is making a request.
type principal struct {
	User    *User
	Session *Session // nil for bearer tokens
	Token   string   // the session cookie value, for logout
	// TokenExpires is when the user's bearer token expires (zero for
	// sessions and the operator's token).
	TokenExpires time.Time
}

// tokenWarnings remembers when each user was last warned of a token about
// to expire, so the log gets one line a day, not one per request.
type tokenWarnings struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// warnTokenExpiry logs, once a day per user, that a token expires soon.
func (s *Server) warnTokenExpiry(user string, expires time.Time) {
	s.tokWarn.mu.Lock()
	defer s.tokWarn.mu.Unlock()
	now := s.now()
	if s.tokWarn.last == nil {
		s.tokWarn.last = map[string]time.Time{}
	}
	if t, ok := s.tokWarn.last[user]; ok && now.Sub(t) < 24*time.Hour {
		return
	}
	s.tokWarn.last[user] = now
	s.log.Warn("API token expires soon", "user", user, "expires_at", expires.UTC().Format(time.RFC3339))
}

type ctxKey int

const principalKey ctxKey = iota

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey).(*principal)
	return p
}

// authenticate finds the principal from a bearer token or session cookie.
// Wrong bearer tokens are throttled per client address.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, errors.New("Authorization header must be 'Bearer <token>'")
		}
		tok = strings.TrimSpace(tok)
		if s.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.AdminToken)) == 1 {
			return &principal{User: &User{Name: "api-token", Role: RoleAdmin}}, nil
		}
		addr := "t:" + s.clientIP(r)
		ok, wait, err := s.tokenLimit.reserve(r.Context(), addr)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &throttledError{wait: wait}
		}
		u, expires, err := s.store.UserByToken(r.Context(), tok)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				s.log.Warn("bearer token refused", "remote_ip", s.clientIP(r))
				return nil, errors.New("unknown, expired or revoked API token")
			}
			s.giveBack(context.WithoutCancel(r.Context()), s.tokenLimit, addr)
			return nil, err
		}
		s.giveBack(context.WithoutCancel(r.Context()), s.tokenLimit, addr)
		if expires.Sub(s.now()) <= TokenExpiryWarning {
			s.warnTokenExpiry(u.Name, expires)
		}
		return &principal{User: u, TokenExpires: expires}, nil
	}
	c, err := r.Cookie(s.cookieName(sessionCookie))
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.store.SessionByToken(r.Context(), c.Value)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &principal{User: sess.User, Session: sess, Token: c.Value}, nil
}

// throttledError is a bearer token refused because its address guessed
// wrong too often.
type throttledError struct{ wait time.Duration }

func (e *throttledError) Error() string {
	return fmt.Sprintf("too many wrong API tokens from this address; retry in %d s", int(e.wait.Seconds())+1)
}

// maxFormBytes bounds the body of a form post.
const maxFormBytes = 1 << 20

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// csrfOK checks the token of a state-changing request made with a session
// cookie: a form field or the X-CSRF-Token header.
func csrfOK(r *http.Request, p *principal) bool {
	if p.Session == nil || safeMethod(r.Method) {
		return true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.Session.CSRF)) == 1
}

// page wraps a UI handler: it requires a login (redirecting to /login), the
// role min, and a valid CSRF token on POST.
func (s *Server) page(min Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil && r.Header.Get("Authorization") == "" {
			s.serverError(w, r, err)
			return
		}
		if p == nil || p.Session == nil {
			if safeMethod(r.Method) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(localRedirect(r.URL.RequestURI())), http.StatusSeeOther)
			} else {
				http.Error(w, "login required", http.StatusUnauthorized)
			}
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		if !safeMethod(r.Method) {
			// Forms are small; a bigger body is refused before it is read
			// whole (the largest field, a note, is 10,000 characters).
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
					http.Error(w, fmt.Sprintf("form too large: at most %d bytes", maxFormBytes), http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "malformed form: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		if !csrfOK(r, p) {
			s.renderError(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		if !p.User.Role.AtLeast(min) {
			s.renderError(w, r, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r)
	})
}

// api wraps an API handler: bearer token or session cookie (with the
// X-CSRF-Token header on state-changing calls), and the role min.
func (s *Server) api(min Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			if te := (*throttledError)(nil); errors.As(err, &te) {
				w.Header().Set("Retry-After", fmt.Sprint(int(te.wait.Seconds())+1))
				writeJSONError(w, http.StatusTooManyRequests, err.Error())
				return
			}
			if r.Header.Get("Authorization") != "" {
				writeJSONError(w, http.StatusUnauthorized, err.Error())
				return
			}
			s.log.Error("authenticate", "error", err, "path", r.URL.Path)
			writeJSONError(w, http.StatusInternalServerError, "internal error")
			return
		}
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="riskmine"`)
			writeJSONError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token> or log in")
			return
		}
		if p.Session != nil && !safeMethod(r.Method) {
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.Session.CSRF)) != 1 {
				writeJSONError(w, http.StatusForbidden, "missing or wrong X-CSRF-Token header")
				return
			}
		}
		if !p.User.Role.AtLeast(min) {
			writeJSONError(w, http.StatusForbidden, "role "+string(p.User.Role)+" may not do this; needs "+string(min))
			return
		}
		if !p.TokenExpires.IsZero() && p.TokenExpires.Sub(s.now()) <= TokenExpiryWarning {
			w.Header().Set("Riskmine-Token-Expires", p.TokenExpires.UTC().Format(time.RFC3339))
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

// clientIP is the address of the client: the remote address, or when that
// is one of the configured trusted proxies, the right-most address of
// X-Forwarded-For that is not a trusted proxy (earlier entries are whatever
// the client chose to send).
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.trusted) == 0 || !s.isTrusted(host) {
		return host
	}
	xff := r.Header.Values("X-Forwarded-For")
	var hops []string
	for _, h := range xff {
		for _, part := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return host // a malformed chain: trust none of it
		}
		if !s.isTrusted(a.String()) {
			return a.Unmap().String()
		}
		host = a.String()
	}
	return host
}

func (s *Server) isTrusted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// actor is the name recorded in audit trails for the request's user.
func actor(r *http.Request) string {
	if p := principalFrom(r.Context()); p != nil {
		return p.User.Name
	}
	return ""
}

// localRedirect keeps only paths of this site so that ?next=, the bulk
// form's back and the like cannot send users away. Control, format and
// whitespace characters are dropped first, as browsers drop them when they
// follow a Location (/\t/evil.example becomes //evil.example); a backslash
// in the path is refused since browsers read it as a slash. Anything that is
// not a plain local path becomes /.
func localRedirect(next string) string {
	clean := stripInvisible(next)
	path := clean
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	// Percent-encoded characters of the path are decoded by some browsers
	// and proxies; judge the decoded form too.
	dec, err := url.PathUnescape(path)
	if err != nil {
		return "/"
	}
	dec = stripInvisible(dec)
	for _, p := range []string{path, dec} {
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
			return "/"
		}
	}
	u, err := url.Parse(clean)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return clean
}

func stripInvisible(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// Protect puts h behind the API's authentication: a bearer token or a
// session (with the CSRF header on state-changing calls) of at least role
// min. Routes added beside the server's own (the demo's receiver log) use it.
func (s *Server) Protect(min Role, h http.Handler) http.Handler { return s.api(min, h.ServeHTTP) }
