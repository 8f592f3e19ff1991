package web

import "strconv"

// categoryCodes are the stable category codes of the design, in the order
// the filters list them. Lexicons may add more; those appear in facets.
var categoryCodes = []string{
	"fire", "explosion", "hazmat_leak", "collapse", "traffic_accident",
	"natural_disaster", "food_safety", "public_health", "fraud",
	"illegal_fundraising", "mass_incident", "violence", "drugs", "weapons",
	"self_harm", "environment", "work_safety", "city_management",
}

func itoa(n int) string { return strconv.Itoa(n) }
