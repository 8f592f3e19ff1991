// Command riskmine mines public web content for public-safety risk leads.
//
// Each subcommand lives in a file of its own and registers itself in
// commands; main parses the name, builds the context and exits with the
// status of the command's run function.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. Run receives the arguments after the
// subcommand's name (and after any sub-subcommand the command handles itself).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv carries the standard streams so commands can be tested.
type cmdEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("riskmine: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage is returned after a usage message was printed; exit status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "riskmine: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return 2
	}
	err := c.run(ctx, env, args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(env.stderr, "riskmine %s: %v\n", c.name, err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "riskmine mines public web content for public-safety risk leads.")
	fmt.Fprintln(w, "\nUsage: riskmine <command> [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE and --data DIR; run 'riskmine <command> --help' for its flags.")
}

// commonFlags are the flags every subcommand takes.
type commonFlags struct {
	config string
	data   string
}

// newFlagSet returns a flag set with --config and --data, printing its usage
// (with the given synopsis and description) to env.stderr.
func newFlagSet(env *cmdEnv, name, synopsis, description string) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cf := &commonFlags{}
	fs.StringVar(&cf.config, "config", "", "config file (default riskmine.yaml in the working folder if present, else built-in defaults)")
	fs.StringVar(&cf.data, "data", "", "data folder holding the index and database (default from config, ./data)")
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: riskmine %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs, cf
}

// parseFlags parses args allowing flags after positional arguments, which
// users type (riskmine search 火灾 --json).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
