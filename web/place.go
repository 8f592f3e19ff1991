package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"riskmine/nlp"
)

// placeCode turns what a user typed in a place filter into a statistical
// code: a code as it is, else the best division of that name (仓山 →
// 350104, 福州/仓山 → 350104, 福建省/福州市 → 3501). An unknown name is an
// error naming it.
func placeCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || isDigits(s) {
		return s, nil
	}
	ds := nlp.FindDivisions(s, 1)
	if len(ds) == 0 {
		return "", fmt.Errorf("location: no place named %q (type a name such as 仓山 or 福州/仓山, or a division code such as 350104)", s)
	}
	return ds[0].Code, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// placeName is the name path of a division code (福建省/福州市/仓山区), or
// the code when the gazetteer does not know it.
func placeName(code string) string {
	if d, ok := nlp.DivisionByCode(code); ok {
		return d.Path
	}
	return code
}

// apiPlaces answers GET /api/v1/places?q=仓山&limit=10: the divisions of
// that name, for the place picker and for programs.
func (s *Server) apiPlaces(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if err := checkLen("q", q, 64); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to 50, got %q", v))
			return
		}
		limit = n
	}
	out := []nlp.Division{}
	if q != "" {
		out = append(out, nlp.FindDivisions(q, limit)...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"places": out})
}
