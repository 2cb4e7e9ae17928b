package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"
)

// exec runs the built binary with args and the environment plus env.
func execBin(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// commandPaths lists every command of the tree, as argument lists.
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		p := append(append([]string{}, prefix...), sub.Name())
		out = append(out, p)
		out = append(out, commandPaths(sub, p)...)
	}
	return out
}

// TestHelpEveryCommand: every command and subcommand of the real binary
// answers -h and --help with exit 0, its usage line and examples.
func TestHelpEveryCommand(t *testing.T) {
	bin := buildBinary(t)
	paths := commandPaths(newRootCmd(&app{stdout: io.Discard, stderr: io.Discard, logger: slog.New(slog.DiscardHandler)}), nil)
	seen := map[string]bool{}
	for _, p := range paths {
		seen[strings.Join(p, " ")] = true
	}
	// The tree must keep every command the command line ever had.
	for _, want := range []string{
		"serve", "check", "sync", "sync reconcile", "sync position", "sync position show", "sync position set",
		"schema", "schema print", "schema validate", "schema apply", "demo", "test", "healthcheck", "bench", "version",
		"lookup", "lookup items", "lookup users", "completion", "completion bash", "completion zsh",
		"completion fish", "completion powershell", "help",
	} {
		if !seen[want] {
			t.Errorf("no command %q in the tree", want)
		}
	}
	paths = append(paths, nil) // the root itself
	for _, p := range paths {
		for _, h := range []string{"--help", "-h"} {
			name := strings.Join(append(append([]string{}, p...), h), " ")
			t.Run(name, func(t *testing.T) {
				code, out, errs := execBin(t, bin, nil, append(append([]string{}, p...), h)...)
				if code != 0 {
					t.Fatalf("exit %d, want 0: %s", code, errs)
				}
				if !strings.Contains(out, "Example") || !strings.Contains(out, "Usage:") {
					t.Errorf("help lacks Usage or Example:\n%s", out)
				}
				if len(p) > 0 && !strings.Contains(out, "boxauthz "+strings.Join(p, " ")) {
					t.Errorf("help does not name boxauthz %s:\n%s", strings.Join(p, " "), out)
				}
			})
		}
	}
}

// TestHelpTrueToTheCommand: the help of commands that need an external
// SpiceDB does not offer the embedded one as a default.
func TestHelpTrueToTheCommand(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"sync"}, "required", "embedded in this process"},
		{[]string{"sync", "reconcile"}, "required", "embedded in this process"},
		{[]string{"sync", "position", "set"}, "required", "embedded in this process"},
		{[]string{"schema", "apply"}, "required", "embedded in this process"},
		{[]string{"check"}, "directly instead of the --server", "embedded in this process"},
		{[]string{"serve"}, "default: SpiceDB embedded in this process", "required"},
	} {
		code, out, errs := runCmd(t, t.Context(), append(tt.args, "--help")...)
		if code != 0 {
			t.Fatalf("%v --help: exit %d %s", tt.args, code, errs)
		}
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "--spicedb-endpoint string") {
				line = l
			}
		}
		if !strings.Contains(line, tt.want) || strings.Contains(line, tt.not) {
			t.Errorf("%v: --spicedb-endpoint help %q: want %q and not %q", tt.args, line, tt.want, tt.not)
		}
	}
}

// TestUnknownCommandsAndFlags: an unknown command or flag exits 2 and
// names the valid ones.
func TestUnknownCommandsAndFlags(t *testing.T) {
	bin := buildBinary(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"frob"}, []string{`unknown command "frob"`, "Valid commands:", "check", "lookup", "version"}},
		{[]string{"schema", "frob"}, []string{`unknown command "frob"`, "apply, print, validate"}},
		{[]string{"schema"}, []string{"apply, print, validate"}},
		{[]string{"sync", "frob"}, []string{`unknown command "frob"`, "position, reconcile"}},
		{[]string{"sync", "position", "frob"}, []string{"set, show"}},
		{[]string{"lookup", "frob"}, []string{"items, users"}},
		{[]string{"check", "--frob"}, []string{"unknown flag: --frob", "--explain", "--bulk", "--consistency-token"}},
		{[]string{"sync", "position", "show", "--frob"}, []string{"unknown flag: --frob", "--source", "--kind"}},
		{[]string{"--frob"}, []string{"unknown flag: --frob", "--version"}},
		{[]string{"check", "bob", "rename"}, []string{"want <user> <action> <type>:<id>"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errs := execBin(t, bin, nil, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
	// No arguments at all is a usage error too, the usage on stderr.
	if code, out, errs := execBin(t, bin, nil); code != 2 || out != "" || !strings.Contains(errs, "Available Commands") {
		t.Errorf("no arguments: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestVersion: version, --version and version --json report the build:
// the SpiceDB module linked in is the one go.mod requires, the commit the
// checkout's when built in one.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "boxauthz")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSpiceDB := ""
	for _, r := range mf.Require {
		if r.Mod.Path == spicedbModule {
			wantSpiceDB = r.Mod.Version
		}
	}
	code, out, errs := execBin(t, bin, nil, "version", "--json")
	if code != 0 {
		t.Fatalf("version --json: exit %d %s", code, errs)
	}
	var v buildVersion
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version --json is not JSON: %v\n%s", err, out)
	}
	if v.SpiceDB != wantSpiceDB || v.Version == "" || !strings.HasPrefix(v.Go, "go1.") {
		t.Errorf("version --json = %+v; want spicedb %s, a version and a go version", v, wantSpiceDB)
	}
	// A commit is stamped when the build ran in a git checkout Go reads.
	if v.Commit != "" {
		head, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err == nil && strings.TrimSpace(string(head)) != v.Commit {
			t.Errorf("commit %s, want HEAD %s", v.Commit, head)
		}
	}
	code, text, _ := execBin(t, bin, nil, "version")
	if code != 0 || !strings.Contains(text, "spicedb  "+wantSpiceDB) || !strings.Contains(text, "go       "+v.Go) || !strings.HasPrefix(text, "boxauthz "+v.Version) {
		t.Errorf("version: exit %d\n%s", code, text)
	}
	if code, flag, _ := execBin(t, bin, nil, "--version"); code != 0 || flag != text {
		t.Errorf("--version: exit %d, %q; want what version prints, %q", code, flag, text)
	}
}

// TestBadEnvironmentNamesTheVariable: a BOXAUTHZ_* value that does not
// parse is refused naming the variable, the type wanted and the value.
func TestBadEnvironmentNamesTheVariable(t *testing.T) {
	bin := buildBinary(t)
	for _, tt := range []struct {
		env  string
		args []string
		want string
	}{
		{"BOXAUTHZ_ACCESS_TOKEN_TTL=abc", []string{"serve", "--admin-key", "k"}, `BOXAUTHZ_ACCESS_TOKEN_TTL="abc": want a duration such as 60m`},
		{"BOXAUTHZ_INVALID_TOKEN_LIMIT=many", []string{"serve", "--admin-key", "k"}, `BOXAUTHZ_INVALID_TOKEN_LIMIT="many": want a whole number`},
		{"BOXAUTHZ_EXPLAIN=maybe", []string{"check", "bob", "rename", "file:plan"}, `BOXAUTHZ_EXPLAIN="maybe": want true or false`},
		{"BOXAUTHZ_SEED=-1", []string{"bench"}, `BOXAUTHZ_SEED="-1": want a whole number, 0 or more`},
		{"BOXAUTHZ_TIMEOUT=soon", []string{"healthcheck"}, `BOXAUTHZ_TIMEOUT="soon": want a duration`},
	} {
		t.Run(tt.env, func(t *testing.T) {
			code, _, errs := execBin(t, bin, []string{tt.env}, tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tt.want)
			}
		})
	}
}

// TestCompletion: cobra's completion scripts come out for each shell.
func TestCompletion(t *testing.T) {
	for sh, want := range map[string]string{"bash": "__start_boxauthz", "zsh": "#compdef boxauthz", "fish": "complete -c boxauthz", "powershell": "Register-ArgumentCompleter"} {
		code, out, errs := runCmd(t, t.Context(), "completion", sh)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %s; want %q in the script", sh, code, errs, want)
		}
	}
}

// TestSingleDashFlags: the single-dash long flags the command line took
// before still work.
func TestSingleDashFlags(t *testing.T) {
	code, _, errs := runCmd(t, t.Context(), "healthcheck", "-url", "http://127.0.0.1:1/readyz", "-timeout", "1s")
	if code != 1 || !strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("healthcheck -url: exit %d, %s; want 1 asking the url given", code, errs)
	}
}

// TestEnvironmentFillsEveryCommandsFlags: BOXAUTHZ_<FLAG> reaches the
// flags of subcommands too, and the command line wins over it.
func TestEnvironmentFillsEveryCommandsFlags(t *testing.T) {
	for _, tt := range []struct {
		env, value string
		args       []string
		want       string
	}{
		{"BOXAUTHZ_SERVER", "http://127.0.0.1:1", []string{"check", "bob", "rename", "file:plan"}, "http://127.0.0.1:1/v1/check"},
		{"BOXAUTHZ_SERVER", "http://127.0.0.1:1", []string{"check", "bob", "rename", "file:plan", "--server", "http://127.0.0.1:2"}, "http://127.0.0.1:2/v1/check"},
		{"BOXAUTHZ_SOURCE", "stdin", []string{"sync", "position", "show"}, "needs --spicedb-endpoint"},
		{"BOXAUTHZ_SNAPSHOT", "snap.jsonl", []string{"sync", "reconcile"}, "needs --spicedb-endpoint"},
	} {
		t.Run(tt.env+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			if code, _, errs := runCmd(t, t.Context(), tt.args...); code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, %s; want 2 and %q", code, errs, tt.want)
			}
		})
	}
}
