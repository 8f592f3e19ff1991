package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func init() {
	lexiconCommands["stats"] = runLexiconStats
}

func runLexiconStats(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "lexicon stats", "lexicon stats [--min-leads N] [--json]",
		`Prints review feedback per lexicon rule: how many leads the rule contributed
evidence to, how many of those analysts confirmed (confirmed or any later state)
and how many they dismissed, and the precision confirmed / (confirmed + dismissed).
Rules with low precision are the ones to tune.`)
	minLeads := fs.Int("min-leads", 1, "only rules with at least this many leads")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := st.RuleStats(ctx)
	if err != nil {
		return err
	}
	rules := all[:0]
	for _, r := range all {
		if r.Leads >= *minLeads {
			rules = append(rules, r)
		}
	}
	if *asJSON {
		return writeJSON(env.stdout, map[string]any{"rules": rules})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tLEADS\tCONFIRMED\tDISMISSED\tPRECISION")
	for _, r := range rules {
		p := "-"
		if r.Precision >= 0 {
			p = fmt.Sprintf("%.2f", r.Precision)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", r.Rule, r.Leads, r.Confirmed, r.Dismissed, p)
	}
	tw.Flush()
	if len(rules) == 0 {
		fmt.Fprintln(env.stdout, "no reviewed leads yet")
	}
	return nil
}
