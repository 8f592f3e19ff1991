package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"riskmine/service"
)

func init() {
	register(&command{
		name:    "backup",
		summary: "write a consistent copy of the database, the index and the evidence archive, also while serve runs",
		run:     runBackup,
	})
	register(&command{
		name:    "restore",
		summary: "check a backup and put it in place as the data folder",
		run:     runRestore,
	})
}

func runBackup(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "backup", "backup [--data DIR] [--config FILE] DEST", `
Writes a consistent copy of the data folder to the new folder DEST: the SQLite
database (leads, audit trail, webhook outbox, crawl state, users, the
evidence index) by VACUUM INTO, then the evidence archive (its WARC files,
the one being written up to its last complete record, and the signing key),
then the search index from one snapshot of each shard. While serve runs
on the data folder, serve writes the copy (asked through the socket
riskmine.sock in the data folder) and goes on crawling and answering;
otherwise this command opens the data folder itself. DEST must not exist or
be empty; it is complete when the command exits 0 (it is written as
DEST.partial, then renamed). DEST is itself a data folder: restore it with
'riskmine restore DEST', or start on it with 'riskmine serve --data DEST'.`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	m, err := service.Backup(ctx, cfg, dest)
	if err != nil {
		return err
	}
	how := "offline"
	if m.Online {
		how = "from the running serve"
	}
	ev := ""
	if e := m.Evidence; e != nil {
		ev = fmt.Sprintf(", evidence %d files (%d bytes, %d captures)", e.Files, e.Bytes, e.Captures)
	}
	fmt.Fprintf(env.stdout, "backup written to %s (%s): database %d bytes, index %d documents%s\n", dest, how, m.DatabaseBytes, m.IndexDocuments, ev)
	return nil
}

func runRestore(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "restore", "restore [--data DIR] [--config FILE] BACKUP", `
Checks the backup folder BACKUP (written by 'riskmine backup') and puts a copy
of it in place as the data folder: the database passes SQLite's quick_check,
the index opens and counts its documents, and every capture of the evidence
archive is read back with its digests checked, before anything is moved in.
The data folder must hold no riskmine.db, no index and, when the backup has
an evidence archive, no evidence folder (stop serve and move them away
first): restore never overwrites. The backup folder is left as it was.`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	src := pos[0]
	rep, err := service.Restore(ctx, cfg, src)
	if err != nil {
		return err
	}
	ev := "no evidence archive in the backup"
	if rep.Evidence {
		ev = fmt.Sprintf("evidence %d captures checked", rep.Captures)
	}
	fmt.Fprintf(env.stdout, "restored %s (taken %s) into %s: index %d documents, %s\n", src, rep.Manifest.CreatedAt.Format(time.RFC3339), cfg.DataDir, rep.Documents, ev)
	return nil
}
