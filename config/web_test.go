package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The privacy keys of web: bad values name the key and the line.
func TestWebPrivacyKeys(t *testing.T) {
	bad := []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"negative retention", "web:\n  read_audit_days: -1\n", "web.read_audit_days", 2, "must be between 0 (keep every read) and 36500, got -1"},
		{"retention of a century and more", "web:\n  session_ttl: 12h\n  read_audit_days: 40000\n", "web.read_audit_days", 3, "got 40000"},
		{"retention in words", "web:\n  read_audit_days: half a year\n", "web.read_audit_days", 2, "expected a whole number"},
		{"retention as a duration", "web:\n  read_audit_days: 180d\n", "web.read_audit_days", 2, "expected a whole number"},
		{"unknown role", "web:\n  pii_roles:\n    - analyst\n    - dispatcher\n", "web.pii_roles[1]", 4, `got "dispatcher", expected one of viewer, analyst, admin`},
		{"role in capitals", "web:\n  pii_roles: [Admin]\n", "web.pii_roles[0]", 2, `got "Admin"`},
		{"role twice", "web:\n  pii_roles: [admin, analyst, admin]\n", "web.pii_roles[2]", 2, "listed twice"},
		{"roles as text", "web:\n  pii_roles: admin\n", "web.pii_roles", 2, "expected a list"},
		{"unknown key", "web:\n  pii_role: [admin]\n", "web.pii_role", 2, "unknown key"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a config error", err)
			}
			prefix := fmt.Sprintf("config: c.yaml:%d: %s: ", tc.line, tc.key)
			if ce.Key != tc.key || ce.Line != tc.line || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want it to start with %q and contain %q", err, prefix, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not one line", err)
			}
		})
	}

	good := []struct {
		name, yaml string
		days       int
		roles      []string
	}{
		{"defaults", "", 180, []string{"analyst", "admin"}},
		{"keep every read", "web:\n  read_audit_days: 0\n", 0, []string{"analyst", "admin"}},
		{"admins only", "web:\n  read_audit_days: 30\n  pii_roles: [admin]\n", 30, []string{"admin"}},
		{"masked for everyone", "web:\n  pii_roles: []\n", 180, []string{}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if c.Web.ReadAuditDays != tc.days || !slices.Equal(c.Web.PIIRoles, tc.roles) || c.Web.PIIRoles == nil {
				t.Errorf("read_audit_days %d, pii_roles %#v; want %d, %#v", c.Web.ReadAuditDays, c.Web.PIIRoles, tc.days, tc.roles)
			}
		})
	}
}
