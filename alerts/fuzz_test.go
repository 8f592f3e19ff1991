package alerts

import (
	"testing"
	"time"
)

// FuzzVerify feeds Verify arbitrary headers and bodies (what a receiver
// gets from the network): it must never panic and must accept only the
// signature Sign makes.
func FuzzVerify(f *testing.F) {
	key, _ := ParseSecret(testSecret)
	f.Add("msg_1", "1700000000", []byte(`{"type":"risk_lead.created"}`), "v1,abc")
	f.Add("", "", []byte{}, "")
	f.Add("msg_2", "-1", []byte("x"), "v1, v2,zzz v1,")
	f.Fuzz(func(t *testing.T, id, ts string, body []byte, sig string) {
		err := Verify(testSecret, id, ts, body, sig, time.Unix(1700000000, 0), 0)
		if err == nil {
			// Then some entry must equal the real signature.
			t2, perr := parseInt(ts)
			if perr != nil {
				t.Fatalf("accepted a non-integer timestamp %q", ts)
			}
			want := Sign(key, id, t2, body)
			found := false
			for _, s := range splitFields(sig) {
				if s == want {
					found = true
				}
			}
			if !found {
				t.Fatalf("accepted %q for id %q ts %q", sig, id, ts)
			}
		}
	})
}

// FuzzParseRetryAfter: any header value yields a non-negative delay or none.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", " 30 ", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if ok && d < 0 {
			t.Fatalf("%q gave a negative delay %v", v, d)
		}
	})
}

// FuzzParseSecret: malformed secrets give errors, never panics or empty keys.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{testSecret, "whsec_", "whsec_===", "secret", "whsec_YQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSecret(s)
		if err == nil && len(key) == 0 {
			t.Fatalf("%q gave an empty key", s)
		}
	})
}
