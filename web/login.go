package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"
)

type loginData struct {
	Next     string
	Name     string
	FormCSRF string
}

// loginPage shows the login form. Before a session exists the CSRF token is
// a random cookie echoed by the form (double submit), which stops other
// sites from logging a browser into an account of theirs.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, name, errMsg string) {
	tok := randomToken(18)
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: tok, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.SecureCookies, MaxAge: 3600})
	next := r.FormValue("next")
	v := s.newView(r, "", "login.title", &loginData{Next: localRedirect(next), Name: name, FormCSRF: tok})
	v.Error = errMsg
	s.render(w, r, status, "login", v)
}

// loginSubmit checks the credentials, applying the rate limit per client IP
// and user name, and starts a session.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	l := langFor(r)
	c, err := r.Cookie(loginCSRF)
	form := r.PostFormValue(csrfField)
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		s.showLogin(w, r, http.StatusForbidden, "", l.T("error.csrf"))
		return
	}
	name := r.PostFormValue("username")
	password := r.PostFormValue("password")
	ip := clientIP(r)
	ok, wait := s.limiter.allow(ip, name)
	if ipOK, ipWait := s.ipLimit.allow(ip, ""); !ipOK {
		ok, wait = false, max(wait, ipWait)
	}
	if !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		s.showLogin(w, r, http.StatusTooManyRequests, name, l.T("login.limited", int(wait.Minutes())+1))
		return
	}
	u, err := s.store.Authenticate(r.Context(), name, password)
	if errors.Is(err, errBadLogin) {
		s.limiter.fail(ip, name)
		s.ipLimit.fail(ip, "")
		s.log.Warn("login failed", "user", name, "remote_ip", ip)
		s.showLogin(w, r, http.StatusUnauthorized, name, l.T("login.bad"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.limiter.succeed(ip, name)
	tok, _, err := s.store.createSession(r.Context(), u, s.opts.SessionTTL)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.opts.SecureCookies, Expires: s.now().Add(s.opts.SessionTTL),
		MaxAge: int(s.opts.SessionTTL / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1})
	s.log.Info("login", "user", u.Name, "remote_ip", ip)
	http.Redirect(w, r, localRedirect(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := s.store.deleteSession(r.Context(), p.Token); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.opts.SecureCookies})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
