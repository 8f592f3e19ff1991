package nlp

import "testing"

func TestFindDivisions(t *testing.T) {
	for _, c := range []struct {
		q, code, path string
	}{
		{"仓山", "350104", "福建省/福州市/仓山区"},
		{"仓山区", "350104", "福建省/福州市/仓山区"},
		{"福州/仓山", "350104", "福建省/福州市/仓山区"},
		{"福州", "3501", "福建省/福州市"},
		{"福建", "35", "福建省"},
		{"密云", "110118", "北京市/密云区"},
		{"倉山", "350104", "福建省/福州市/仓山区"}, // traditional characters fold
	} {
		got := FindDivisions(c.q, 5)
		if len(got) == 0 || got[0].Code != c.code || got[0].Path != c.path {
			t.Errorf("FindDivisions(%q) = %+v, want %s %s first", c.q, got, c.code, c.path)
		}
	}
	if got := FindDivisions("仓山", 100); len(got) < 2 {
		t.Errorf("仓山: %d divisions, want the district and the townships of the name", len(got))
	}
	if got := FindDivisions("不存在的地方名", 5); len(got) != 0 {
		t.Errorf("unknown name: %+v", got)
	}
	if got := FindDivisions("", 5); got != nil {
		t.Errorf("empty query: %+v", got)
	}
}

func TestDivisionByCode(t *testing.T) {
	for code, path := range map[string]string{"35": "福建省", "3501": "福建省/福州市", "350104": "福建省/福州市/仓山区"} {
		d, ok := DivisionByCode(code)
		if !ok || d.Path != path {
			t.Errorf("DivisionByCode(%s) = %+v %v, want %s", code, d, ok, path)
		}
	}
	if _, ok := DivisionByCode("999999"); ok {
		t.Error("an unknown code was found")
	}
}
