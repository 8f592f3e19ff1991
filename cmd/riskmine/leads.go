package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/service"
	"riskmine/web"
)

func init() {
	register(&command{
		name:    "leads",
		summary: "risk leads: list, show ID, transition ID --to STATE, assign, note, export-evidence ID",
		run:     runLeads,
	})
}

// openAlertsStore loads the config and opens <data_dir>/riskmine.db.
func openAlertsStore(cf *commonFlags) (*alerts.SQLStore, *config.Config, error) {
	cfg, err := loadEmbeddedConfig(cf)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := alerts.OpenSQLite(filepath.Join(cfg.DataDir, "riskmine.db"), service.AlertsOptions(cfg, nil))
	if err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

var leadsCommands = map[string]func(ctx context.Context, env *cmdEnv, args []string) error{
	"list":            runLeadsList,
	"show":            runLeadsShow,
	"transition":      runLeadsTransition,
	"assign":          runLeadsAssign,
	"note":            runLeadsNote,
	"export-evidence": runLeadsExportEvidence,
}

func runLeads(ctx context.Context, env *cmdEnv, args []string) error {
	names := make([]string, 0, len(leadsCommands))
	for n := range leadsCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.stderr, "Usage: riskmine leads <%s> [flags] [args]\n\nRun 'riskmine leads <subcommand> --help' for its flags.\n", strings.Join(names, "|"))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	run, ok := leadsCommands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "riskmine leads: unknown subcommand %q, expected one of %s\n", args[0], strings.Join(names, ", "))
		return errUsage
	}
	return run(ctx, env, args[1:])
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func defaultActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runLeadsList(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "leads list", "leads list [--state S] [--level L] [--category C] [--overdue] [--json]",
		`Lists risk leads, newest activity first. --state, --level and --category take
comma-separated values. States: new, confirmed, dispatched, handled, verified,
closed, dismissed, merged.`)
	state := fs.String("state", "", "only these states (comma-separated)")
	level := fs.String("level", "", "only these levels (comma-separated)")
	category := fs.String("category", "", "only leads with one of these category codes")
	location := fs.String("location", "", "only leads with a location code starting with this")
	assignee := fs.String("assignee", "", "only leads assigned to this analyst")
	query := fs.String("query", "", "only leads whose title or summary contains this")
	overdue := fs.Bool("overdue", false, "only open leads past their due time")
	sortBy := fs.String("sort", "last_seen", "last_seen, first_seen, level, score, due or sources")
	limit := fs.Int("limit", 50, "at most this many leads")
	offset := fs.Int("offset", 0, "skip this many leads")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.stderr, "riskmine leads list: unexpected argument %q\n", pos[0])
		return errUsage
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	leads, total, err := st.ListLeads(ctx, alerts.LeadFilter{
		States: splitList(*state), Levels: splitList(*level), Categories: splitList(*category),
		LocationPrefix: *location, Assignee: *assignee, Query: *query, Overdue: *overdue,
		Sort: *sortBy, Limit: *limit, Offset: *offset,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, map[string]any{"total": total, "leads": leads})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tLEVEL\tSOURCES\tDUE\tCATEGORY\tLOCATION\tTITLE")
	for _, l := range leads {
		due := "-"
		if l.DueAt != nil {
			due = l.DueAt.Format("01-02 15:04")
			if l.Overdue {
				due += " OVERDUE"
			}
		}
		loc := "-"
		if len(l.Locations) > 0 {
			loc = l.Locations[0].Name
			if loc == "" {
				loc = l.Locations[0].Code
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", l.ID, l.State, l.Level, l.SourceCount, due, orDash(l.TopCategory()), loc, oneLine(l.Title, 40))
	}
	tw.Flush()
	fmt.Fprintf(env.stdout, "%d of %d leads\n", len(leads), total)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func runLeadsShow(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "leads show", "leads show ID [--json]",
		"Prints a lead with its sources and their evidence, notes and audit trail.")
	asJSON := fs.Bool("json", false, "print JSON: {lead, audit, similar}")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "riskmine leads show: expected exactly one lead ID")
		return errUsage
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.GetLead(ctx, pos[0])
	if err != nil {
		return err
	}
	audit, err := st.Audit(ctx, l.ID)
	if err != nil {
		return err
	}
	similar, err := st.SimilarLeads(ctx, l.ID, 5)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, map[string]any{"lead": l, "audit": audit, "similar": similar})
	}
	w := env.stdout
	fmt.Fprintf(w, "%s  %s\n", l.ID, l.Title)
	fmt.Fprintf(w, "state %s · level %s (score %.1f) · version %d · %d sources\n", l.State, l.Level, l.Score, l.Version, l.SourceCount)
	var cats []string
	for _, c := range l.Categories {
		cats = append(cats, fmt.Sprintf("%s %.1f", c.Code, c.Score))
	}
	fmt.Fprintf(w, "categories: %s\n", orDash(strings.Join(cats, ", ")))
	for _, loc := range l.Locations {
		fmt.Fprintf(w, "location: %s %s\n", loc.Code, loc.Name)
	}
	fmt.Fprintf(w, "seen: %s … %s\n", l.FirstSeen.Format(cliTime), l.LastSeen.Format(cliTime))
	if l.DueAt != nil {
		over := ""
		if l.Overdue {
			over = " (OVERDUE)"
		}
		fmt.Fprintf(w, "due: %s%s\n", l.DueAt.Format(cliTime), over)
	}
	for _, kv := range [][2]string{{"assignee", l.Assignee}, {"unit", l.Unit}, {"resolution", l.Resolution}, {"merged into", l.MergedInto}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
		}
	}
	if l.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", l.Summary)
	}
	fmt.Fprintln(w, "\nSources:")
	for _, s := range l.Sources {
		fmt.Fprintf(w, "  %s  [%s %s] %s\n    %s\n", s.SeenAt.Format(cliTime), s.Level, orDash(s.Category), oneLine(s.Title, 60), s.URL)
		for _, e := range s.Evidence {
			fmt.Fprintf(w, "      %s: %q (%s %d–%d, weight %.1f)\n", e.Rule, e.Text, e.Field, e.Start, e.End, e.Weight)
		}
	}
	if len(l.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range l.Notes {
			fmt.Fprintf(w, "  %s %s: %s\n", n.At.Format(cliTime), n.Actor, n.Text)
		}
	}
	fmt.Fprintln(w, "\nAudit:")
	for _, a := range audit {
		change := ""
		if a.From != "" || a.To != "" {
			change = " " + orDash(a.From) + " → " + orDash(a.To)
		}
		note := ""
		if a.Note != "" {
			note = "  " + a.Note
		}
		for _, p := range []struct{ k, v string }{{"reason", a.Reason}, {"into", a.MergeInto}, {"unit", a.Unit}} {
			if p.v != "" {
				note += "  " + p.k + ": " + p.v
			}
		}
		fmt.Fprintf(w, "  %s %s %s%s%s\n", a.At.Format(cliTime), a.Actor, a.Action, change, note)
	}
	if len(similar) > 0 {
		fmt.Fprintln(w, "\nSimilar leads:")
		for _, s := range similar {
			fmt.Fprintf(w, "  %s %s %s %s\n", s.ID, s.State, s.Level, oneLine(s.Title, 50))
		}
	}
	return nil
}

func runLeadsTransition(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "leads transition", "leads transition ID --to STATE [--actor NAME] [--note N] [--reason R] [--assignee A] [--unit U] [--into ID] [--version V]",
		`Moves a lead through the case loop:
  new → confirmed (立案) → dispatched (派遣, needs --unit) → handled (处置) →
  verified (核查) → closed (结案); handled → dispatched sends it back;
  new or confirmed → dismissed (needs --reason);
  any open state → merged (needs --into TARGET_ID).
With --version, the change is refused if someone changed the lead since.`)
	to := fs.String("to", "", "target state (required)")
	actor := fs.String("actor", defaultActor(), "who makes the change (audit trail)")
	note := fs.String("note", "", "note for the audit trail")
	reason := fs.String("reason", "", "reason (required to dismiss; the resolution when handled/closed)")
	assignee := fs.String("assignee", "", "assign the lead in the same change")
	unit := fs.String("unit", "", "unit the lead is dispatched to")
	into := fs.String("into", "", "target lead id when merging")
	version := fs.Int("version", 0, "version you saw (0: no check)")
	asJSON := fs.Bool("json", false, "print the lead as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *to == "" {
		fmt.Fprintln(env.stderr, "riskmine leads transition: expected one lead ID and --to STATE")
		return errUsage
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := st.GetLead(ctx, pos[0])
	if err != nil {
		return err
	}
	l, err := st.Transition(ctx, pos[0], alerts.TransitionRequest{
		To: *to, Actor: *actor, Note: *note, Reason: *reason, Assignee: *assignee,
		Unit: *unit, MergeInto: *into, Version: *version,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, l)
	}
	fmt.Fprintf(env.stdout, "lead %s: %s → %s (version %d)\n", l.ID, before.State, l.State, l.Version)
	return nil
}

func runLeadsAssign(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "leads assign", "leads assign ID ANALYST [--actor NAME] [--note N] [--version V]",
		"Assigns a lead to an analyst (audited; with --version, refused if the lead changed since).")
	actor := fs.String("actor", defaultActor(), "who makes the change")
	note := fs.String("note", "", "note for the audit trail")
	version := fs.Int("version", 0, "version you saw (0: no check)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fmt.Fprintln(env.stderr, "riskmine leads assign: expected a lead ID and an analyst name")
		return errUsage
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.Assign(ctx, pos[0], alerts.AssignRequest{Actor: *actor, Assignee: pos[1], Note: *note, Version: *version})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "lead %s assigned to %s (version %d)\n", l.ID, l.Assignee, l.Version)
	return nil
}

func runLeadsNote(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "leads note", "leads note ID TEXT… [--actor NAME]", "Adds a note to a lead (audited).")
	actor := fs.String("actor", defaultActor(), "author of the note")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fmt.Fprintln(env.stderr, "riskmine leads note: expected a lead ID and the note text")
		return errUsage
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.AddNote(ctx, pos[0], *actor, strings.Join(pos[1:], " "))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "lead %s: %d notes\n", l.ID, len(l.Notes))
	return nil
}

// cliTime is how the command line shows a time: in the configured zone
// (the stores return times in it), with its offset.
const cliTime = "2006-01-02 15:04:05 -07:00"

// runLeadsExportEvidence writes a lead's evidence bundle, offline on the
// data folder like the other leads commands (serve may keep running: the
// archive's files are only read, and the file serve is writing is left
// alone). The export goes to the read audit with via "cli".
func runLeadsExportEvidence(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "leads export-evidence", "leads export-evidence ID [--out FILE]",
		"Writes the lead's evidence bundle: a zip with the WARC records of its sources'\n"+
			"archived copies, their screenshots, a printable report (report.html) and\n"+
			"manifest-sha256.txt (check an unzipped bundle with sha256sum -c).\n"+
			"Without --out the zip goes to riskmine-evidence-ID-TIME.zip in the working folder;\n"+
			"--out - writes it to standard output.")
	out := fs.String("out", "", "file to write (- for standard output)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "riskmine leads export-evidence: expected exactly one lead ID")
		return errUsage
	}
	st, cfg, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	if !cfg.Evidence.Enabled {
		return fmt.Errorf("evidence.enabled is off in the config: no archive to export from")
	}
	l, err := st.GetLead(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("lead %s: %w", pos[0], err)
	}
	audit, err := st.Audit(ctx, l.ID)
	if err != nil {
		return err
	}
	log, _ := newLogger(env.stderr, cfg.Log)
	arch, err := service.OpenEvidence(ctx, cfg, log.With("component", "evidence"))
	if err != nil {
		return err
	}
	defer arch.Close()
	now := time.Now()
	path := *out
	if path == "" {
		path = web.EvidenceBundleName(l.ID, now)
	}
	var w io.Writer = env.stdout
	var f *os.File
	if path != "-" {
		// Written beside the target and renamed, so a failed export leaves
		// no partial zip under the name asked for.
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
		if err != nil {
			return fmt.Errorf("export-evidence: %w", err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	n, err := web.WriteEvidenceBundle(ctx, w, arch, l, audit, cfg.Location(), now)
	if err != nil {
		return fmt.Errorf("export-evidence %s: %w", l.ID, err)
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("export-evidence: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("export-evidence: %w", err)
		}
		if err := os.Rename(f.Name(), path); err != nil {
			return fmt.Errorf("export-evidence: %w", err)
		}
	}
	if err := auditCLIExport(ctx, cfg, l.ID, n); err != nil {
		return err
	}
	if path != "-" {
		fmt.Fprintf(env.stderr, "lead %s: %d archived captures of %d sources written to %s\n", l.ID, n, len(l.Sources), path)
	}
	return nil
}

// auditCLIExport records a bundle exported from the command line in the
// read audit, as the UI records its downloads.
func auditCLIExport(ctx context.Context, cfg *config.Config, leadID string, rows int) error {
	ws, err := web.OpenStore(filepath.Join(cfg.DataDir, "riskmine.db"))
	if err != nil {
		return err
	}
	defer ws.Close()
	return ws.AddReads(ctx, []web.ReadEvent{{At: time.Now(), User: defaultActor(), Kind: web.ReadExport, Via: "cli",
		Target: "evidence_bundle", Filters: "lead=" + leadID, Rows: rows, PII: true}})
}
