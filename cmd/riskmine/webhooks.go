package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"riskmine/alerts"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "webhooks",
		summary: "webhooks: test NAME, list (deliveries), show ID, replay ID, enable NAME",
		run:     runWebhooks,
	})
}

var webhooksCommands = map[string]func(ctx context.Context, env *cmdEnv, args []string) error{
	"test":   runWebhooksTest,
	"list":   runWebhooksList,
	"show":   runWebhooksShow,
	"replay": runWebhooksReplay,
	"enable": runWebhooksEnable,
}

func runWebhooks(ctx context.Context, env *cmdEnv, args []string) error {
	names := make([]string, 0, len(webhooksCommands))
	for n := range webhooksCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.stderr, "Usage: riskmine webhooks <%s> [flags] [args]\n\nRun 'riskmine webhooks <subcommand> --help' for its flags.\n", strings.Join(names, "|"))
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	run, ok := webhooksCommands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "riskmine webhooks: unknown subcommand %q, expected one of %s\n", args[0], strings.Join(names, ", "))
		return errUsage
	}
	return run(ctx, env, args[1:])
}

// openDispatcher opens the store and a dispatcher for the configured webhooks.
func openDispatcher(cf *commonFlags) (*alerts.SQLStore, *alerts.Dispatcher, error) {
	st, cfg, err := openAlertsStore(cf)
	if err != nil {
		return nil, nil, err
	}
	d, err := alerts.NewDispatcher(st, service.WebhookEndpoints(cfg), alerts.DispatcherOptions{PublicURL: cfg.Web.PublicURL, Location: cfg.Location()})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, d, nil
}

func oneArg(env *cmdEnv, pos []string, cmd, what string) (string, error) {
	if len(pos) != 1 {
		fmt.Fprintf(env.stderr, "riskmine webhooks %s: expected exactly one %s\n", cmd, what)
		return "", errUsage
	}
	return pos[0], nil
}

func runWebhooksTest(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "webhooks test", "webhooks test NAME",
		`Sends a signed risk_lead.test event with a sample lead to the configured webhook
NAME (not through the outbox) and prints the receiver's status and answer.
A dingtalk, wecom or email webhook gets a test message (测试消息) instead.
Exits 1 unless the receiver answers 2xx (and a robot errcode 0).`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneArg(env, pos, "test", "webhook NAME")
	if err != nil {
		return err
	}
	st, d, err := openDispatcher(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := d.SendTest(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: HTTP %d in %s (webhook-id %s)\n", name, res.Status, res.Latency.Round(time.Millisecond), res.ID)
	names := make([]string, 0, len(res.Header))
	for k := range res.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(env.stdout, "  %s: %s\n", k, strings.Join(res.Header[k], ", "))
	}
	if res.Status < 200 || res.Status > 299 {
		return fmt.Errorf("webhook %s answered HTTP %d", name, res.Status)
	}
	return nil
}

func runWebhooksList(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "webhooks list", "webhooks list [--state pending|delivered|dead] [--endpoint NAME] [--lead ID] [--json]",
		"Lists webhook deliveries (the outbox), newest first, and disabled endpoints.")
	state := fs.String("state", "", "pending, delivered or dead")
	endpoint := fs.String("endpoint", "", "only this webhook")
	lead := fs.String("lead", "", "only deliveries of this lead")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	ds, total, err := st.Deliveries(ctx, alerts.DeliveryFilter{State: *state, Endpoint: *endpoint, LeadID: *lead, Limit: *limit})
	if err != nil {
		return err
	}
	disabled, err := st.DisabledEndpoints(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, map[string]any{"total": total, "deliveries": ds, "disabled_endpoints": disabled})
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENDPOINT\tEVENT\tLEAD\tSTATE\tATTEMPTS\tLAST")
	for _, d := range ds {
		last := "-"
		if d.LastStatus != 0 {
			last = fmt.Sprintf("HTTP %d", d.LastStatus)
		}
		if d.LastError != "" {
			last = oneLine(d.LastError, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Endpoint, d.Event, d.LeadID, d.State, d.Attempts, last)
	}
	tw.Flush()
	fmt.Fprintf(env.stdout, "%d of %d deliveries\n", len(ds), total)
	for n, r := range disabled {
		fmt.Fprintf(env.stdout, "endpoint %s is disabled: %s (riskmine webhooks enable %s)\n", n, r, n)
	}
	return nil
}

func runWebhooksShow(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "webhooks show", "webhooks show ID [--json]", "Prints a delivery, its body and the log of its attempts.")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneArg(env, pos, "show", "delivery ID")
	if err != nil {
		return err
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	d, err := st.Delivery(ctx, id)
	if err != nil {
		return err
	}
	as, err := st.Attempts(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.stdout, map[string]any{"delivery": d, "body": string(d.Body), "attempts": as})
	}
	fmt.Fprintf(env.stdout, "%s → %s: %s for lead %s, %s after %d attempts\n%s\n\nAttempts:\n", d.ID, d.Endpoint, d.Event, d.LeadID, d.State, d.Attempts, d.Body)
	for _, a := range as {
		fmt.Fprintf(env.stdout, "  #%d %s %s status %d in %s %s\n", a.N, a.At.Format(cliTime), a.Outcome, a.Status, a.Latency.Round(time.Millisecond), a.Error)
	}
	return nil
}

func runWebhooksReplay(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "webhooks replay", "webhooks replay ID [--queue-only]",
		`Puts a dead (or delivered) delivery back in the outbox under the same webhook-id,
then tries it once now and prints the outcome. With --queue-only it is left for
the running server's dispatcher.`)
	queueOnly := fs.Bool("queue-only", false, "only re-queue; do not send now")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := oneArg(env, pos, "replay", "delivery ID")
	if err != nil {
		return err
	}
	st, d, err := openDispatcher(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := d.Replay(ctx, id); err != nil {
		return err
	}
	if *queueOnly {
		fmt.Fprintf(env.stdout, "delivery %s queued\n", id)
		return nil
	}
	rec, err := d.DeliverNow(ctx, id)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("delivery %s: %s", id, rec.Outcome)
	if rec.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", rec.Status)
	}
	if rec.Error != "" {
		msg += ": " + rec.Error
	}
	fmt.Fprintln(env.stdout, msg)
	if rec.Outcome == "dead" {
		return fmt.Errorf("delivery %s failed", id)
	}
	return nil
}

func runWebhooksEnable(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "webhooks enable", "webhooks enable NAME", "Re-enables a webhook the dispatcher disabled after HTTP 410 Gone.")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneArg(env, pos, "enable", "webhook NAME")
	if err != nil {
		return err
	}
	st, _, err := openAlertsStore(cf)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.EnableEndpoint(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "webhook %s enabled\n", name)
	return nil
}
