package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
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
	Session *session // nil for bearer tokens
	Token   string   // the session cookie value, for logout
}

type ctxKey int

const principalKey ctxKey = iota

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey).(*principal)
	return p
}

// authenticate finds the principal from a bearer token or session cookie.
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
		u, err := s.store.userByToken(r.Context(), tok)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, errors.New("unknown or revoked API token")
			}
			return nil, err
		}
		return &principal{User: u}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.store.sessionByToken(r.Context(), c.Value)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &principal{User: sess.User, Session: sess, Token: c.Value}, nil
}

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
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			} else {
				http.Error(w, "login required", http.StatusUnauthorized)
			}
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
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
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

// clientIP is the remote address without port. X-Forwarded-For is not
// trusted: riskmine is served directly or behind a proxy that the operator
// configures to rate-limit itself.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// actor is the name recorded in audit trails for the request's user.
func actor(r *http.Request) string {
	if p := principalFrom(r.Context()); p != nil {
		return p.User.Name
	}
	return ""
}

// localRedirect keeps only same-site paths so ?next= cannot send users away.
func localRedirect(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
