package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

// envName is the variable a flag also reads: BOXAUTHZ_ and the flag's name
// in upper case, dashes as underscores.
func envName(flag string) string {
	return "BOXAUTHZ_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv fills every flag of fs not given on the command line from its
// BOXAUTHZ_<FLAG> variable. A value that does not parse names the
// variable, the kind of value wanted and the value found.
func bindEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		// --help and --version are asked for, never configured.
		if err != nil || f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		env := envName(f.Name)
		v, ok := os.LookupEnv(env)
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = &envError{name: env, value: v, want: wantOf(f.Value.Type()), err: e}
		}
	})
	return err
}

// envError is a BOXAUTHZ_* variable whose value does not parse.
type envError struct {
	name, value, want string
	err               error
}

func (e *envError) Error() string {
	return fmt.Sprintf("%s=%q: want %s", e.name, e.value, e.want)
}

func (e *envError) Unwrap() error { return e.err }

// wantOf says, for a reader, what a flag of pflag type typ takes.
func wantOf(typ string) string {
	switch typ {
	case "duration":
		return "a duration such as 60m, 30s or 1h30m"
	case "bool":
		return "true or false"
	case "int", "int64":
		return "a whole number such as 10"
	case "uint64", "uint":
		return "a whole number, 0 or more, such as 42"
	default:
		return "a value of type " + typ
	}
}

// spicedbUse is what a command does with the SpiceDB flags, so each
// command's help says what is true of it.
type spicedbUse int

const (
	// spicedbEmbedded: an external SpiceDB is optional, the embedded one
	// the default (serve).
	spicedbEmbedded spicedbUse = iota
	// spicedbRequired: the command works on a SpiceDB that outlives it.
	spicedbRequired
	// spicedbDirect: the command asks a running server unless given a
	// SpiceDB to ask directly (check, lookup).
	spicedbDirect
)

// spicedbFlags select the SpiceDB to use.
type spicedbFlags struct {
	endpoint, token, caFile, grpcAddr string
	insecure                          bool
	// dataDir keeps the embedded SpiceDB's data across restarts.
	dataDir string
	// grpcOpts instrument the client beyond its call metrics (serve's
	// tracing); not a flag.
	grpcOpts []grpc.DialOption
	// extension is --schema-extension where a command registers it (serve).
	extension extensionFlag
}

func (s *spicedbFlags) register(fs *pflag.FlagSet, use spicedbUse) {
	const nodes = "host:port of an external SpiceDB, or of each node of one, comma-separated: calls go to the first that answers and fail over in order"
	endpoint := nodes + " (default: SpiceDB embedded in this process, in memory)"
	switch use {
	case spicedbRequired:
		endpoint = nodes + " (required: this command works on a SpiceDB that outlives it)"
	case spicedbDirect:
		endpoint = nodes + ": ask that SpiceDB directly instead of the --server"
	}
	fs.StringVar(&s.endpoint, "spicedb-endpoint", "", endpoint)
	fs.StringVar(&s.token, "spicedb-token", "", "SpiceDB preshared key")
	fs.BoolVar(&s.insecure, "spicedb-insecure", false, "talk plaintext gRPC to the external SpiceDB (loopback or private network)")
	fs.StringVar(&s.caFile, "spicedb-ca", "", "PEM file of the CA that signed the external SpiceDB's TLS certificate (default: system roots)")
	if use == spicedbEmbedded {
		fs.StringVar(&s.grpcAddr, "spicedb-grpc-addr", "", "also serve the embedded SpiceDB's gRPC on this loopback address (needs --spicedb-token)")
		fs.StringVar(&s.dataDir, "data-dir", "", "keep the embedded SpiceDB's data in this directory, on boxauthz's own durable store, across restarts (docs/store.md; default: in memory, gone on exit)")
	}
}

// dial connects to the external SpiceDB, with extra dial options (the call
// metrics) before s.grpcOpts.
func (s *spicedbFlags) dial(extra ...grpc.DialOption) (*spicedb.Client, error) {
	opts := []spicedb.DialOption{
		spicedb.WithToken(s.token), spicedb.WithInsecure(s.insecure),
		spicedb.WithDialOptions(extra...), spicedb.WithDialOptions(s.grpcOpts...),
	}
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, fmt.Errorf("--spicedb-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--spicedb-ca %s: no PEM certificate in it", s.caFile)
		}
		opts = append(opts, spicedb.WithTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	return spicedb.DialExternal(s.endpoint, opts...)
}

// adminKeyFlags read the admin key from the command line, the environment
// or a file; the file keeps the key out of ps and /proc/<pid>/cmdline.
type adminKeyFlags struct{ key, file string }

func (a *adminKeyFlags) register(fs *pflag.FlagSet, usage string) {
	fs.StringVar(&a.key, "admin-key", "", usage)
	fs.StringVar(&a.file, "admin-key-file", "", "file holding the admin key (one line); keeps it out of the process list")
}

// value is the admin key: from --admin-key-file when given, trailing line
// break and spaces trimmed.
func (a *adminKeyFlags) value() (string, error) {
	if a.file == "" {
		return a.key, nil
	}
	if a.key != "" {
		return "", fmt.Errorf("--admin-key and --admin-key-file are both set: give one")
	}
	b, err := os.ReadFile(a.file)
	if err != nil {
		return "", fmt.Errorf("--admin-key-file: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("--admin-key-file %s: the file is empty", a.file)
	}
	if strings.ContainsAny(k, "\r\n") {
		return "", fmt.Errorf("--admin-key-file %s: want the key on one line", a.file)
	}
	return k, nil
}
