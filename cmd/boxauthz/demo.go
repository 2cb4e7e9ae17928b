package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// demoStep is one question of the walkthrough and what it shows.
type demoStep struct {
	say    string
	user   string
	action schema.Action
	item   string
	link   string
}

var demoSteps = []demoStep{
	{"alice owns projects: she may give it away", "alice", schema.ActionTransferOwnership, "folder:projects", ""},
	{"bob is an editor on projects; the grant waterfalls two levels down to plan", "bob", schema.ActionRename, "file:plan", ""},
	{"...but an editor may not delete the folder the collaboration is on", "bob", schema.ActionDelete, "folder:projects", ""},
	{"...only what lies below it", "bob", schema.ActionDelete, "folder:launch", ""},
	{"dave reaches launch as an admin of group design (viewer there)", "dave", schema.ActionDownload, "file:plan", ""},
	{"and is co-owner deeper down, on assets: a higher role lower in the tree", "dave", schema.ActionRename, "file:logo", ""},
	{"bob is a viewer on launch through design, and still an editor from projects above", "bob", schema.ActionEdit, "file:logo", ""},
	{"assets says only owners and co-owners invite: bob the editor may not", "bob", schema.ActionInvite, "file:logo", ""},
	{"the external partner is a previewer on launch: preview yes", "xavier@partner.example", schema.ActionPreview, "file:plan", ""},
	{"...download no", "xavier@partner.example", schema.ActionDownload, "file:plan", ""},
	{"erin's invitation is still pending: it grants nothing", "erin", schema.ActionList, "folder:projects", ""},
	{"anyone presenting plan's open link may preview it", "", schema.ActionPreview, "file:plan", "file:plan"},
	{"...but the link does not allow downloads", "", schema.ActionDownload, "file:plan", "file:plan"},
	{"ada is the enterprise admin: no content access through the role alone", "ada", schema.ActionPreview, "file:plan", ""},
	{"archive is in the trash: even its owner can do nothing inside", "alice", schema.ActionDownload, "file:old-notes", ""},
}

func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Load a sample enterprise into an embedded SpiceDB and show real answers",
		Long: `demo starts SpiceDB in this process, in memory, loads the Acme sample
enterprise (examples/acme.jsonl), and asks it questions that show the model:
waterfall, roles, invitations, shared links, the trash; each with its answer
and why. Nothing is kept.`,
		Example: "  boxauthz demo\n  boxauthz demo | less",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a.stdout)
		},
	}
}

func runDemo(ctx context.Context, stdout io.Writer) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStack(ctx, &spicedbFlags{}, quiet)
	if err != nil {
		return err
	}
	defer st.Close()
	evs, err := event.DecodeEvents(examples.AcmeEvents, true)
	if err != nil {
		return fmt.Errorf("decoding the sample events: %w", err)
	}
	res, err := sync.NewApplier(st.client, sync.WithLogger(quiet)).Apply(ctx, evs)
	if err != nil {
		return fmt.Errorf("applying the sample events: %w", err)
	}
	fmt.Fprintf(stdout, "boxauthz demo: SpiceDB embedded in this process, in memory.\nLoaded the Acme sample enterprise: %d events (examples/acme.jsonl).\n\n", res.Applied)
	cons := checker.Consistency{Token: res.Token.GetToken()}
	for i, s := range demoSteps {
		item, err := schema.ParseItemRef(s.item)
		if err != nil {
			return err
		}
		q := checker.Question{User: s.user, Action: s.action, Item: item}
		if s.link != "" {
			l, err := schema.ParseItemURL(s.link)
			if err != nil {
				return err
			}
			q.SharedLink = &l
		}
		ex, err := st.checker.Explain(ctx, q, cons)
		if err != nil {
			return err
		}
		who := s.user
		if who == "" {
			who = "(anonymous)"
		}
		verdict := "DENIED "
		if ex.Allowed {
			verdict = "ALLOWED"
		}
		fmt.Fprintf(stdout, "%2d. %s\n    %s  %s %s %s", i+1, s.say, verdict, who, s.action, s.item)
		if s.link != "" {
			fmt.Fprintf(stdout, " (presenting link %s)", s.link)
		}
		fmt.Fprintf(stdout, "\n    because: %s\n\n", ex.Sentence())
	}
	users, err := st.checker.LookupUsers(ctx, schema.ItemRef{Type: schema.TypeFile, ID: "plan"}, schema.ActionDownload, 0, "", cons)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Who may download file:plan? %s\n", strings.Join(users.Users, ", "))
	page, err := st.checker.LookupItems(ctx, "dave", schema.ActionPreview, schema.TypeFile, 0, "", cons)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Which files may dave preview? %s\n", strings.Join(page.Items, ", "))
	return nil
}
