package alerts

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// placed is post with the most precise place its text names.
func placed(url, code string, sim uint64, place string) Candidate {
	c := post(url, "fire", code, sim, "起火", "鼓楼")
	c.Place, c.PlaceCode = place, code
	return c
}

func TestLeadKeepsPlace(t *testing.T) {
	s, path := openTestStore(t, Options{})
	ctx := t.Context()

	// The first post that names the spot gives the lead its place; a later
	// post of the same incident replaces it only when it writes the same
	// spot more fully.
	first := mustFile(t, s, placed("https://a.test/1", "350102", 1, "五四路与湖东路交叉口东侧"))
	for i, p := range []string{"湖东路", "五四路与湖东路交叉口东侧25米", "五四路"} {
		joined := mustFile(t, s, placed(fmt.Sprintf("https://a.test/%d", i+2), "350102", 1, p))
		if joined.LeadID != first.LeadID {
			t.Fatalf("post %d opened lead %s, want it to join %s", i+2, joined.LeadID, first.LeadID)
		}
	}
	// A lead whose first post named only the county gets the place of the
	// first joining post that names one.
	bare := mustFile(t, s, placed("https://b.test/1", "350105", 0xffffffff00000000, ""))
	later := mustFile(t, s, placed("https://b.test/2", "350105", 0xffffffff00000000, "国道324线274KM+600M"))
	if later.LeadID != bare.LeadID {
		t.Fatalf("joining post opened lead %s, want %s", later.LeadID, bare.LeadID)
	}

	check := func(s *SQLStore, id, place, code string) {
		t.Helper()
		l, err := s.GetLead(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if l.Place != place || l.PlaceCode != code {
			t.Errorf("lead %s place %q %q, want %q %q", id, l.Place, l.PlaceCode, place, code)
		}
		if len(l.Locations) == 0 || l.Locations[0].Code != code {
			t.Errorf("lead %s locations %+v, want %s beside the place", id, l.Locations, code)
		}
		list, _, err := s.ListLeads(ctx, LeadFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			if o.ID == id && o.Place != place {
				t.Errorf("listed lead %s place %q, want %q", id, o.Place, place)
			}
		}
	}
	check(s, first.LeadID, "五四路与湖东路交叉口东侧25米", "350102")
	check(s, bare.LeadID, "国道324线274KM+600M", "350105")

	// The place survives a restart.
	s.Close()
	s2, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2, first.LeadID, "五四路与湖东路交叉口东侧25米", "350102")
}

func TestMergeKeepsTargetPlaceOrTakesSources(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	ctx := t.Context()
	target := mustFile(t, s, placed("https://a.test/1", "350102", 1, "")).LeadID
	src := mustFile(t, s, placed("https://b.test/1", "440106", 0xffffffff00000000, "体育西路189号")).LeadID
	if _, err := s.Transition(ctx, src, TransitionRequest{To: StateMerged, MergeInto: target}); err != nil {
		t.Fatal(err)
	}
	l, err := s.GetLead(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if l.Place != "体育西路189号" || l.PlaceCode != "440106" {
		t.Errorf("merged lead place %q %q, want the merged lead's", l.Place, l.PlaceCode)
	}
}

// TestPlaceColumnsMigrate opens a database made before leads kept a place:
// its leads load with an empty place and new ones keep theirs.
func TestPlaceColumnsMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	old := len(migrations) - 1
	for _, m := range migrations[:old] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`CREATE TABLE alerts_schema (version INTEGER NOT NULL); INSERT INTO alerts_schema VALUES (?)`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO alerts_lead(id, title, summary, level, level_rank, score, top_category, county,
		categories, locations, terms, simhash, first_seen, last_seen, source_count, state, created_at, updated_at)
		VALUES ('old', 't', 's', 'high', 3, 7, 'fire', '350102', '[]', '[]', '[]', 0, 1, 1, 1, 'new', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.GetLead(t.Context(), "old")
	if err != nil || l.Place != "" {
		t.Fatalf("old lead %+v %v", l, err)
	}
	id := mustFile(t, s, placed("https://a.test/1", "350102", 1, "五四路")).LeadID
	if l, err := s.GetLead(t.Context(), id); err != nil || l.Place != "五四路" {
		t.Fatalf("new lead %+v %v", l, err)
	}
}

func TestWebhookBodiesCarryPlace(t *testing.T) {
	for _, format := range []string{"standard", "thehive"} {
		t.Run(format, func(t *testing.T) {
			clock := newClock()
			rc := newReceiver(t)
			ep := endpoint("case", rc.srv.URL)
			if format == "thehive" {
				ep.Format = "thehive"
			}
			ep.Events = []string{EventLeadCreated}
			s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
			d := newTestDispatcher(t, s, clock, ep)
			mustFile(t, s, placed("https://a.test/1", "350102", 1, "五四路与湖东路交叉口东侧25米"))
			process(t, d)
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			body := reqs[0].body
			if format == "thehive" {
				var a struct{ Description string }
				if err := json.Unmarshal(body, &a); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(a.Description, "Place: 五四路与湖东路交叉口东侧25米 350102") {
					t.Fatalf("description %q has no place", a.Description)
				}
				return
			}
			var ev struct {
				Data struct {
					Place     *string    `json:"place"`
					PlaceCode *string    `json:"place_code"`
					Locations []Location `json:"locations"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Data.Place == nil || *ev.Data.Place != "五四路与湖东路交叉口东侧25米" || ev.Data.PlaceCode == nil || *ev.Data.PlaceCode != "350102" ||
				len(ev.Data.Locations) != 1 || ev.Data.Locations[0].Code != "350102" {
				t.Fatalf("webhook data %s", body)
			}
		})
	}
}
