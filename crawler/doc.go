// Package crawler fetches public posts politely and incrementally.
//
// A Source names a site (HTML list and detail pages), a feed (RSS or Atom) or
// a sitemap. Crawler.Run walks one source once on top of gocolly/colly:
// robots.txt is obeyed as RFC 9309 says (robots.go, on every redirect hop),
// one gate per host spaces every request to it across runs (host_gate.go),
// each host gets its own parallelism, every
// dial is checked against private and metadata addresses (SSRF guard), bodies
// are bounded before and after decompression, and transient failures are
// retried with exponential backoff that honours Retry-After. Fetch state
// (ETag, Last-Modified, content hash) lives in a State (state.go; Store is
// the SQLite one, crawler/storetest the suite every State passes) so that a
// second run sends conditional requests and hands on only new or changed
// pages. The
// Scheduler runs sources on cron specs, refuses overlapping runs and keeps
// the run history for the UI. Processes sharing the database take turns
// through leases; lease.go defines their contract (TTL, heartbeat, release
// at restart) once, for every kind of job that needs one. On a cluster the
// runs go through a job queue shared by the nodes (job.go defines its
// contract, scheduler_job.go the elected leader that enqueues and the
// workers that claim).
//
// The package hands each page to an emit function given by the caller and
// imports no other stage of riskmine.
package crawler
