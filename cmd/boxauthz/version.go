package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// spicedbModule is the module whose version is the SpiceDB embedded.
const spicedbModule = "github.com/authzed/spicedb"

// buildVersion is what this binary was built from, as its build info says.
type buildVersion struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified"`
	SpiceDB  string `json:"spicedb"`
	Go       string `json:"go"`
}

// readVersion reads the build info Go stamps into every binary: the
// module's version, the commit (when built in a checkout) and the SpiceDB
// module linked in.
func readVersion() buildVersion {
	v := buildVersion{Version: "(unknown)", SpiceDB: "(unknown)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	for _, d := range bi.Deps {
		if d.Path == spicedbModule {
			v.SpiceDB = d.Version
			if d.Replace != nil {
				v.SpiceDB = d.Replace.Version + " (replacing " + d.Version + ")"
			}
		}
	}
	return v
}

// text is the version as version and --version print it.
func (v buildVersion) text() string {
	commit := v.Commit
	if commit == "" {
		commit = "(unknown)"
	}
	if v.Modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("boxauthz %s\ncommit   %s\nspicedb  %s (embedded)\ngo       %s\n", v.Version, commit, v.SpiceDB, v.Go)
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, embedded SpiceDB and Go version",
		Long: `version prints boxauthz's version and the commit it was built from (with
"(modified)" when the checkout had changes), the SpiceDB version it embeds,
and the Go version it was built with.` +
			jsonHelp + `{"version": string, "commit": string, "modified": bool, "spicedb": string, "go": string}`,
		Example: "  boxauthz version\n  boxauthz version --json\n  boxauthz --version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := readVersion()
			if asJSON {
				b, err := json.Marshal(v)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, string(b))
				return err
			}
			_, err := fmt.Fprint(a.stdout, v.text())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the versions as one JSON object (fields above)")
	return cmd
}
