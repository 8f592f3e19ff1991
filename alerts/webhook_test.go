package alerts

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEndpointJSONHasNoSecret(t *testing.T) {
	b, err := json.Marshal(Endpoint{Name: "case", URL: "http://127.0.0.1:9/", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "whsec_") || strings.Contains(string(b), testSecret[6:]) {
		t.Fatalf("secret marshalled: %s", b)
	}
}

func TestEndpointFilters(t *testing.T) {
	l := &Lead{Level: "high", Categories: []CategoryScore{{"fire", 5}, {"explosion", 2}}, Locations: []Location{{Code: "350105001"}}}
	cases := []struct {
		ep    Endpoint
		event string
		want  bool
	}{
		{Endpoint{}, EventLeadCreated, true},
		{Endpoint{Events: []string{EventLeadStateChanged}}, EventLeadCreated, false},
		{Endpoint{MinLevel: "critical"}, EventLeadCreated, false},
		{Endpoint{MinLevel: "high"}, EventLeadCreated, true},
		{Endpoint{Categories: []string{"explosion"}}, EventLeadUpdated, true},
		{Endpoint{Categories: []string{"fraud"}}, EventLeadUpdated, false},
		{Endpoint{LocationPrefixes: []string{"3501"}}, EventLeadUpdated, true},
		{Endpoint{LocationPrefixes: []string{"11", "3502"}}, EventLeadUpdated, false},
	}
	for i, tc := range cases {
		if got := tc.ep.wants(tc.event, l); got != tc.want {
			t.Errorf("case %d %+v: got %v", i, tc.ep, got)
		}
	}
}
