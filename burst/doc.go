// Package burst finds bursts: a category of hazard suddenly talked about
// far more than usual in one county (a spike of fraud posts in 仓山区, of
// flooding posts in 马尾区) even when no single post is alarming.
//
// It is pure: it takes the post times of one category × county series and
// a scan time and says whether the series bursts now, with the expected and
// seen counts that explain it. Storing the counts, scanning on a schedule
// and filing leads belong to the caller. It imports none of riskmine's
// packages.
package burst
