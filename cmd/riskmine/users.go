package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"riskmine/config"
	"riskmine/service"
	"riskmine/web"
	webpg "riskmine/web/pgstore"
)

func init() {
	register(&command{
		name:    "users",
		summary: "manage web UI users: add, list, disable, enable, token",
		run:     runUsers,
	})
}

const usersSynopsis = `users add NAME [--role admin|analyst|viewer] [--password-stdin]
       riskmine users list
       riskmine users disable NAME | enable NAME
       riskmine users token NAME [--name LABEL]`

const usersDescription = `Manages the local accounts of the web UI, stored in <data_dir>/riskmine.db.

  add      creates a user. With --password-stdin the password is the first
           line of standard input; otherwise a random password is generated
           and printed once. Passwords need at least 15 characters and
           must not be the user's name or a common password. User names are
           NFKC-normalised; invisible, bidi and URL characters are refused.
  list     prints every user with role and status.
  disable  blocks a user's logins, ends their sessions and revokes their API tokens.
  enable   lifts a disable.
  token    issues an API bearer token acting as the user and prints it once;
           it expires after web.token_ttl (default 90 days).`

func runUsers(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "users", usersSynopsis, usersDescription)
	role := fs.String("role", "analyst", "role of a new user: admin, analyst or viewer")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	tokName := fs.String("name", "cli", "label of a new API token")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	sub, rest := pos[0], pos[1:]
	needName := func() (string, error) {
		if len(rest) != 1 {
			fmt.Fprintf(env.stderr, "riskmine users %s: expected exactly one user NAME\n", sub)
			return "", errUsage
		}
		return rest[0], nil
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	store, err := openUserStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	store.SetTokenTTL(cfg.Web.TokenTTL.D())

	switch sub {
	case "add":
		name, err := needName()
		if err != nil {
			return err
		}
		r, err := web.ParseRole(*role)
		if err != nil {
			return err
		}
		password, generated := "", false
		if *pwStdin {
			line, err := bufio.NewReader(env.stdin).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("--password-stdin: no password on standard input")
			}
			password = strings.TrimRight(line, "\r\n")
		} else {
			password, generated = web.RandomPassword(), true
		}
		u, err := store.AddUser(ctx, name, password, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "added user %s (%s)\n", u.Name, u.Role)
		if generated {
			fmt.Fprintf(env.stdout, "password: %s\n", password)
		}
		return nil
	case "list":
		users, err := store.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tCREATED")
		for _, u := range users {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, status, u.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
		}
		return tw.Flush()
	case "disable", "enable":
		name, err := needName()
		if err != nil {
			return err
		}
		if err := store.SetDisabled(ctx, name, sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "user %s %sd\n", name, sub)
		return nil
	case "token":
		name, err := needName()
		if err != nil {
			return err
		}
		tok, err := store.CreateToken(ctx, name, *tokName)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, tok)
		return nil
	default:
		fmt.Fprintf(env.stderr, "riskmine users: unknown subcommand %q (add, list, disable, enable, token)\n", sub)
		return errUsage
	}
}

// openUserStore opens web's store where the config keeps it: riskmine.db
// under data_dir, or the cluster's PostgreSQL (the first administrator of
// a cluster is made here).
func openUserStore(ctx context.Context, cfg *config.Config) (web.DataStore, error) {
	if cfg.Cluster.Postgres() {
		st, err := webpg.Open(ctx, cfg.Cluster.Store)
		if err != nil {
			return nil, fmt.Errorf("cluster.store: %w", err)
		}
		return st, nil
	}
	if err := service.PrepareDataDir(cfg.DataDir, nil); err != nil {
		return nil, err
	}
	return web.OpenStore(filepath.Join(cfg.DataDir, "riskmine.db"))
}
