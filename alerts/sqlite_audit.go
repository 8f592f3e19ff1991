package alerts

import (
	"context"
	"database/sql"

	"fmt"
	"riskmine/internal/sqlitedb"
	"strings"
	"time"
)

// auditFieldsMigration gives a transition's audit entry the dismissal or
// closing reason, the dispatched unit and the merge target as columns of
// their own. Before it they were appended to the note in English
// (" (reason: …)", " (into …)", " (unit: …)"); backfillAuditFields moves
// them out of the old rows.
const auditFieldsMigration = `ALTER TABLE alerts_audit ADD COLUMN reason TEXT NOT NULL DEFAULT '';
	ALTER TABLE alerts_audit ADD COLUMN unit TEXT NOT NULL DEFAULT '';
	ALTER TABLE alerts_audit ADD COLUMN merge_into TEXT NOT NULL DEFAULT '';`

// migrationHooks run Go code right after the SQL of a migration, in the
// same transaction.
var migrationHooks = []sqlitedb.Hook{
	{Step: auditFieldsMigration, Run: backfillAuditFields},
}

// backfillAuditFields splits the English suffixes off the notes of
// transition entries written before auditFieldsMigration.
func backfillAuditFields(ctx context.Context, tx sqlitedb.Querier) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, to_state, note FROM alerts_audit WHERE action = 'transition' AND note LIKE '%)'`)
	if err != nil {
		return err
	}
	type fix struct {
		id                       int64
		note, reason, unit, into string
	}
	var fixes []fix
	for rows.Next() {
		var f fix
		var to string
		if err := rows.Scan(&f.id, &to, &f.note); err != nil {
			rows.Close()
			return err
		}
		old := f.note
		f.note, f.reason, f.into, f.unit = splitLegacyAuditNote(old, to)
		if f.note != old {
			fixes = append(fixes, f)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, `UPDATE alerts_audit SET note = ?, reason = ?, unit = ?, merge_into = ? WHERE id = ?`,
			f.note, f.reason, f.unit, f.into, f.id); err != nil {
			return fmt.Errorf("audit entry %d: %w", f.id, err)
		}
	}
	return nil
}

// splitLegacyAuditNote undoes what Transition used to write: the analyst's
// note, then " (reason: R)" when a reason was given, then " (into ID)" for
// a merge or " (unit: U)" for a dispatch with a unit, each joined with a
// space unless the note before it was empty. to is the entry's new state:
// only a dispatch had a unit and only a merge a target, so a note that
// merely looks like one is kept whole.
func splitLegacyAuditNote(note, to string) (text, reason, into, unit string) {
	cut := func(marker string) (string, bool) {
		if !strings.HasSuffix(note, ")") {
			return "", false
		}
		marked := " " + note // the part alone has no space before it
		i := strings.LastIndex(marked, " "+marker)
		if i < 0 {
			return "", false
		}
		v := marked[i+1+len(marker) : len(marked)-1]
		note = strings.TrimSpace(marked[:i])
		return v, true
	}
	switch to {
	case StateDispatched:
		unit, _ = cut("(unit: ")
	case StateMerged:
		into, _ = cut("(into ")
	}
	reason, _ = cut("(reason: ")
	return note, reason, into, unit
}

// insertAudit records one audit entry in tx.
func (s *SQLStore) insertAudit(ctx context.Context, tx *sql.Tx, a AuditEntry) error {
	_, err := s.exec(ctx, tx, `INSERT INTO alerts_audit(lead_id, at, actor, action, from_state, to_state, note, reason, unit, merge_into) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		a.LeadID, ms(a.At), a.Actor, a.Action, a.From, a.To, a.Note, a.Reason, a.Unit, a.MergeInto)
	return err
}

func (s *SQLStore) audit(ctx context.Context, tx *sql.Tx, leadID string, at time.Time, actor, action, from, to, note string) error {
	return s.insertAudit(ctx, tx, AuditEntry{LeadID: leadID, At: at, Actor: actor, Action: action, From: from, To: to, Note: note})
}

// Audit returns a lead's audit trail, oldest first.
func (s *SQLStore) Audit(ctx context.Context, id string) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, lead_id, at, actor, action, from_state, to_state, note, reason, unit, merge_into
		FROM alerts_audit WHERE lead_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alerts: audit of lead %s: %w", id, err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var a AuditEntry
		var at int64
		if err := rows.Scan(&a.ID, &a.LeadID, &at, &a.Actor, &a.Action, &a.From, &a.To, &a.Note, &a.Reason, &a.Unit, &a.MergeInto); err != nil {
			return nil, fmt.Errorf("alerts: audit of lead %s: %w", id, err)
		}
		a.At = s.at(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
