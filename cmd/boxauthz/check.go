package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

func checkCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	server := fs.String("server", "http://127.0.0.1:8080", "boxauthz server to ask")
	var ak adminKeyFlags
	ak.register(fs, "the server's admin key")
	explain := fs.Bool("explain", false, "say what allows it, or why not")
	link := fs.String("shared-link", "", "a shared link the caller presents, as type:id")
	var sf spicedbFlags
	sf.register(fs, false)
	pos, err := parse(fs, args)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if len(pos) != 3 {
		return &exitError{code: 2, err: errors.New("want <user> <action> <type>:<id>")}
	}
	item, err := schema.ParseItemRef(pos[2])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	body := map[string]any{"user": pos[0], "action": pos[1], "item": item, "explain": *explain}
	if *link != "" {
		body["shared_link"] = *link
	}

	var out struct {
		Allowed     bool `json:"allowed"`
		Explanation any  `json:"explanation,omitempty"`
	}
	if sf.endpoint != "" {
		// Straight to SpiceDB, no server in between.
		st, err := openStack(ctx, &sf, slog.New(slog.DiscardHandler))
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		defer st.Close()
		q := checker.Question{User: pos[0], Action: schema.Action(pos[1]), Item: item}
		if *link != "" {
			l, err := schema.ParseItemURL(*link)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--shared-link: %w", err)}
			}
			q.SharedLink = &l
		}
		ans, err := st.checker.Check(ctx, q, checker.Consistency{})
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		out.Allowed = ans.Allowed
		if *explain {
			if out.Explanation, err = st.checker.Explain(ctx, q, checker.Consistency{}); err != nil {
				return &exitError{code: 2, err: err}
			}
		}
	} else {
		adminKey, err := ak.value()
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		if err := postJSON(ctx, strings.TrimSuffix(*server, "/")+"/v1/check", adminKey, body, &out); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	verdict := "denied"
	if out.Allowed {
		verdict = "allowed"
	}
	fmt.Fprintln(stdout, verdict)
	if out.Explanation != nil {
		b, _ := json.MarshalIndent(out.Explanation, "", "  ")
		fmt.Fprintln(stdout, string(b))
	}
	if !out.Allowed {
		return &exitError{code: 1}
	}
	return nil
}

func postJSON(ctx context.Context, url, key string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", url, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("reading answer from %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rb, &e)
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, e.Message)
	}
	return json.Unmarshal(rb, out)
}
