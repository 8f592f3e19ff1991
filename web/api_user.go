package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// decodeJSON reads a JSON body of at most 1 MiB into v, rejecting unknown
// fields so typos are reported rather than ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if errors.Is(err, io.EOF) {
			msg = "empty body, expected a JSON object"
		}
		writeJSONError(w, http.StatusBadRequest, "bad JSON body: "+msg)
		return false
	}
	return true
}

// apiMe returns the caller.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	out := struct {
		User *User  `json:"user"`
		CSRF string `json:"csrf_token,omitempty"`
	}{User: p.User}
	if p.Session != nil {
		out.CSRF = p.Session.CSRF
	}
	writeJSON(w, http.StatusOK, out)
}

// apiUserList lists users.
func (s *Server) apiUserList(w http.ResponseWriter, r *http.Request) {
	users, err := s.store.Users(r.Context())
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if users == nil {
		users = []User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(users), "items": users})
}

// apiUserCreate adds a user: {"name","password","role"}.
func (s *Server) apiUserCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	role, err := ParseRole(in.Role)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := s.store.AddUser(r.Context(), in.Name, in.Password, role)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Info("user added", "user", u.Name, "role", role, "by", actor(r))
	writeJSON(w, http.StatusCreated, u)
}

// apiUserUpdate changes role, disabled or password: {"role","disabled","password"}.
func (s *Server) apiUserUpdate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Role     string `json:"role"`
		Disabled *bool  `json:"disabled"`
		Password string `json:"password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	disabled := ""
	if in.Disabled != nil {
		disabled = fmt.Sprint(*in.Disabled)
	}
	name := r.PathValue("name")
	if err := s.updateUserFields(r, name, in.Role, disabled, in.Password); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		writeJSONError(w, status, err.Error())
		return
	}
	u, err := s.store.UserByName(r.Context(), name)
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// apiTokenCreate issues a bearer token for a user: {"name"}.
func (s *Server) apiTokenCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if r.ContentLength != 0 && !decodeJSON(w, r, &in) {
		return
	}
	tok, err := s.store.CreateToken(r.Context(), r.PathValue("name"), in.Name)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		writeJSONError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": tok})
}

// apiTokenList answers GET /api/v1/tokens (never the secrets).
func (s *Server) apiTokenList(w http.ResponseWriter, r *http.Request) {
	toks, err := s.store.Tokens(r.Context())
	if err != nil {
		s.apiServerError(w, r, err)
		return
	}
	if toks == nil {
		toks = []APIToken{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(toks), "items": toks})
}

// apiTokenDelete answers DELETE /api/v1/tokens/{id}.
func (s *Server) apiTokenDelete(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.store.DeleteToken(r.Context(), id)
	}
	if err != nil {
		writeJSONError(w, http.StatusNotFound, "no token "+r.PathValue("id"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiOpenAPI serves the hand-written OpenAPI 3 document.
func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapiJSON)
}
