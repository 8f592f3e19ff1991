// Package storemigrate moves an embedded installation (SQLite in
// data_dir/riskmine.db and the Bleve index under data_dir) into a
// PostgreSQL schema, as `riskmine migrate --to postgres://…` does.
//
// What happens to each table is said once, in Tables: copied row for row
// (ids, timestamps, audit trails, outbox states, password and token hashes
// as they are), or not copied and why. The PostgreSQL schema is made by
// each PostgreSQL store's own migrations (its constructor), and the rows
// are copied column by column by name, each value converted by the
// PostgreSQL column's type: SQLite's integer times (milliseconds or
// seconds, as the table's entry says) become timestamptz, 0 becoming NULL
// where the column allows it; 0/1 become booleans; JSON text becomes
// jsonb. Every post the Bleve index stores is read back read-only
// (index.OpenStored) and written through index/pgsearch with the same
// analysis as the Bleve index.
//
// Everything is copied in one PostgreSQL transaction: a failure rolls it
// all back and names the table and row. The embedded data folder is never
// written: the database is opened query-only and the index read-only.
//
// It imports the stores of both backends, index and nlp (the analysis of
// the posts); nothing imports it but cmd/riskmine and migratetest, which
// fills a data folder for its tests.
package storemigrate
