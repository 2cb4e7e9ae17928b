package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

// parse parses args into fs, letting flags and positional arguments mix, then
// fills every flag not given on the command line from BOXAUTHZ_<FLAG>.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "BOXAUTHZ_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return pos, err
}

// spicedbFlags select the SpiceDB to use.
type spicedbFlags struct {
	endpoint, token, caFile, grpcAddr string
	insecure                          bool
	// grpcOpts instrument the client beyond its call metrics (serve's
	// tracing); not a flag.
	grpcOpts []grpc.DialOption
}

func (s *spicedbFlags) register(fs *flag.FlagSet, embedded bool) {
	fs.StringVar(&s.endpoint, "spicedb-endpoint", "", "host:port of an external SpiceDB, or of each node of one, comma-separated: calls go to the first that answers and fail over in order (default: SpiceDB embedded in this process, in memory)")
	fs.StringVar(&s.token, "spicedb-token", "", "SpiceDB preshared key")
	fs.BoolVar(&s.insecure, "spicedb-insecure", false, "talk plaintext gRPC to the external SpiceDB (loopback or private network)")
	fs.StringVar(&s.caFile, "spicedb-ca", "", "PEM file of the CA that signed the external SpiceDB's TLS certificate (default: system roots)")
	if embedded {
		fs.StringVar(&s.grpcAddr, "spicedb-grpc-addr", "", "also serve the embedded SpiceDB's gRPC on this loopback address (needs --spicedb-token)")
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

func (a *adminKeyFlags) register(fs *flag.FlagSet, usage string) {
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
