package web

import (
	"errors"
	"net/http"
	"strconv"
)

type userListData struct {
	Users    []User
	Tokens   []APIToken
	NewToken string // shown once after creation
	NewFor   string
	Roles    []Role
}

// userList is the admin page of users and API tokens.
func (s *Server) userList(w http.ResponseWriter, r *http.Request) {
	s.showUsers(w, r, http.StatusOK, "", "", "")
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, status int, errMsg, newToken, newFor string) {
	users, err := s.store.Users(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	tokens, err := s.store.Tokens(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "users", "users.title", &userListData{Users: users, Tokens: tokens, NewToken: newToken, NewFor: newFor,
		Roles: []Role{RoleViewer, RoleAnalyst, RoleAdmin}})
	v.Error = errMsg
	s.render(w, r, status, "users", v)
}

// userCreate adds a user from the form.
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request) {
	role, err := ParseRole(r.PostFormValue("role"))
	if err == nil {
		_, err = s.store.AddUser(r.Context(), r.PostFormValue("username"), r.PostFormValue("password"), role)
	}
	if err != nil {
		s.showUsers(w, r, http.StatusBadRequest, err.Error(), "", "")
		return
	}
	s.log.Info("user added", "user", r.PostFormValue("username"), "role", role, "by", actor(r))
	http.Redirect(w, r, "/users?ok=user_added", http.StatusSeeOther)
}

// userUpdate changes a user's role, enables/disables it or sets a password.
func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.updateUserFields(r, name, r.PostFormValue("role"), r.PostFormValue("disabled"), r.PostFormValue("password")); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		s.showUsers(w, r, status, err.Error(), "", "")
		return
	}
	http.Redirect(w, r, "/users?ok=user_updated", http.StatusSeeOther)
}

// errSelfLockout stops an admin from disabling or demoting themself, which
// could leave nobody able to administer the system.
var errSelfLockout = errors.New("web: you cannot disable or demote your own account")

// updateUserFields applies the non-empty fields; disabled is "true"/"false".
func (s *Server) updateUserFields(r *http.Request, name, role, disabled, password string) error {
	ctx := r.Context()
	self := actor(r) == name
	if role != "" {
		rl, err := ParseRole(role)
		if err != nil {
			return err
		}
		if self && rl != RoleAdmin {
			return errSelfLockout
		}
		if err := s.store.SetRole(ctx, name, rl); err != nil {
			return err
		}
	}
	if disabled != "" {
		d, err := strconv.ParseBool(disabled)
		if err != nil {
			return errors.New("web: disabled must be true or false")
		}
		if self && d {
			return errSelfLockout
		}
		if err := s.store.SetDisabled(ctx, name, d); err != nil {
			return err
		}
	}
	if password != "" {
		if err := s.store.SetPassword(ctx, name, password); err != nil {
			return err
		}
	}
	s.log.Info("user updated", "user", name, "role", role, "disabled", disabled, "password_changed", password != "", "by", actor(r))
	return nil
}

// tokenCreate issues an API token for a user and shows it once.
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	tok, err := s.store.CreateToken(r.Context(), name, r.PostFormValue("token_name"))
	if err != nil {
		s.showUsers(w, r, http.StatusBadRequest, err.Error(), "", "")
		return
	}
	s.log.Info("api token created", "user", name, "by", actor(r))
	s.showUsers(w, r, http.StatusOK, "", tok, name)
}

// tokenDelete revokes a token.
func (s *Server) tokenDelete(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.store.DeleteToken(r.Context(), id)
	}
	if err != nil {
		s.showUsers(w, r, http.StatusNotFound, err.Error(), "", "")
		return
	}
	http.Redirect(w, r, "/users?ok=token_deleted", http.StatusSeeOther)
}
