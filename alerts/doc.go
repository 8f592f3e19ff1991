// Package alerts turns scored posts into risk leads and pushes them to case
// platforms.
//
// A post at or above the lead level is filed: it joins the open lead that
// reports the same incident (a near-duplicate simhash, or the same top
// category and county within a time window with shared salient terms) or
// opens a new one. Analysts move leads through the city case loop
// (new → confirmed → dispatched → handled → verified → closed, or dismissed,
// or merged) with optimistic versions, an audit trail and SLA deadlines.
//
// Every lead change writes webhook outbox rows in the same transaction; the
// Dispatcher signs them per the Standard Webhooks spec, retries with backoff,
// dead-letters what cannot be delivered and keeps a log of each attempt. The
// store is SQLite behind the Store interface so another backend is a new
// file, not a rewrite.
package alerts
