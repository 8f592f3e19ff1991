// Package evidence keeps the pages that became leads' sources as WARC 1.1
// records (ISO 28500:2017), so that what a page said when it was seen can
// be shown and handed over later, byte for byte.
//
// Each archived page is one capture: a request, a response and a metadata
// record, plus a resource record for the rendered DOM and one for the
// screenshot when the page was fetched through a browser. Records are built
// and serialised with nlnwa/gowarc and carry SHA-256 block and payload
// digests. Each record is its own gzip member in a .warc.gz file, the usual
// layout that lets a reader start at any record's offset.
//
// Files live in one folder (normally <data_dir>/evidence, or evidence.dir).
// Several nodes may share it (a network file system): each node then has a
// name (Options.Node), writes only in its subfolder, repairs only its own
// files, and reads every node's; the index they share (evidence/pgindex)
// names a file by node/name. A process writes
// only to the file it created, named <prefix>-<time>-<pid>-<random>.warc.gz
// and suffixed .open while being written; it is sealed (renamed) when it
// rotates (by size or by UTC day) or when the archive closes. Open repairs
// the .open files of processes that died: each is cut back to its last
// complete gzip member (a complete record) and sealed. A capture is appended
// and fsynced before its row is committed in the index (SQLite tables
// evidence_* in the database given to Open), so an indexed capture is
// always whole on disk. The index sits behind the Index interface:
// SQLiteIndex here, evidence/pgindex on PostgreSQL; evidence/storetest is
// the suite both pass.
//
// Bundles (bundle.go) carry the captures of a lead with a manifest signed
// by the installation's Ed25519 key (signing.go) and, when a time-stamping
// authority is configured, its RFC 3161 timestamp of the manifest
// (timestamp.go). CopyArchive and CheckCopy (backup.go) copy the folder
// for a backup while it is written to, and check a copy before a restore.
//
// The package is a leaf: it imports no other riskmine package but
// internal/sqlitedb. Callers
// convert their own types to Capture.
package evidence
