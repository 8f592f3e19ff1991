package pipeline

import (
	"strings"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/nlp"
)

// BurstPost maps a scored page to the series it counts in: each category
// at minLevel or above (with lexicons only, the top category when the
// post is at minLevel) in each county the post names. ok is false when
// it counts in none.
func BurstPost(page crawler.Page, as *nlp.Assessment, minLevel string) (alerts.BurstPost, bool) {
	bp := alerts.BurstPost{
		URL: page.URL, CanonicalURL: page.CanonicalURL, Site: page.Site, Source: page.Source,
		Title: page.Title, Snippet: clipRunes(page.Text, 300), At: page.PublishedAt, SeenAt: page.FetchedAt,
		Level: as.Level, Score: as.Score,
	}
	minRank := alerts.LevelRank(minLevel)
	for i, c := range as.Categories {
		if c.Level == "" {
			// Lexicons only: no level per category.
			if i == 0 && alerts.LevelRank(as.Level) >= minRank {
				bp.Categories = append(bp.Categories, c.Code)
			}
			continue
		}
		if alerts.LevelRank(c.Level) >= minRank {
			bp.Categories = append(bp.Categories, c.Code)
		}
	}
	for _, l := range as.Locations {
		if len(l.Code) < 6 {
			continue
		}
		county := l.Code[:6]
		name := l.Name
		if len(l.Code) > 6 {
			// A township's path ends below its county.
			if i := strings.LastIndexByte(name, '/'); i > 0 {
				name = name[:i]
			}
		}
		if i := indexOf(bp.Counties, county); i >= 0 {
			if len(l.Code) == 6 {
				bp.CountyNames[i] = name
			}
			continue
		}
		bp.Counties = append(bp.Counties, county)
		bp.CountyNames = append(bp.CountyNames, name)
	}
	return bp, len(bp.Categories) > 0 && len(bp.Counties) > 0
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
