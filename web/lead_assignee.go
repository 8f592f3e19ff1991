package web

import (
	"context"
	"errors"
	"fmt"

	"riskmine/alerts"
)

// errUnknownAssignee is returned for an assignee who is not an active
// analyst or admin; it is a bad request (it wraps alerts.ErrInvalid).
var errUnknownAssignee = fmt.Errorf("assignee: %w", alerts.ErrInvalid)

// assignees lists the names a lead can be assigned to: the users who may
// act on leads (analysts and admins) and are not disabled. A viewer cannot
// act on a lead, so a lead assigned to one would sit unworked.
func (s *Server) assignees(ctx context.Context) ([]string, error) {
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if !u.Disabled && u.Role.AtLeast(RoleAnalyst) {
			out = append(out, u.Name)
		}
	}
	return out, nil
}

// checkAssignee returns the stored form of the typed name when it is an
// active analyst or admin, else an error naming the field.
func (s *Server) checkAssignee(ctx context.Context, name string) (string, error) {
	name = normalizeUserName(name)
	u, err := s.store.UserByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("%w: no user %q, expected an active analyst or admin", errUnknownAssignee, name)
	}
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", fmt.Errorf("%w: user %q is disabled, expected an active analyst or admin", errUnknownAssignee, name)
	}
	if !u.Role.AtLeast(RoleAnalyst) {
		return "", fmt.Errorf("%w: user %q is a %s and cannot act on leads, expected an active analyst or admin", errUnknownAssignee, name, u.Role)
	}
	return u.Name, nil
}
