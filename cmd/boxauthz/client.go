package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// askFlags choose whom check and lookup ask: a running server (--server,
// with the admin key), or SpiceDB directly (--spicedb-endpoint).
type askFlags struct {
	server string
	ak     adminKeyFlags
	sf     spicedbFlags
	token  string
}

func (f *askFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", "http://127.0.0.1:8080", "boxauthz server to ask (unless --spicedb-endpoint is given)")
	f.ak.register(fs, "the server's admin key")
	f.sf.register(fs, spicedbDirect)
	fs.StringVar(&f.token, "consistency-token", "", "answer no older than this token (an event apply's or a check's consistency_token); default: fully consistent")
}

// asker answers checks and lookups, from a server or from SpiceDB.
type asker interface {
	check(ctx context.Context, c checkRequest, explain bool) (checkResult, error)
	checkBulk(ctx context.Context, cs []checkRequest) ([]bool, string, error)
	lookupItems(ctx context.Context, user string, action schema.Action, typ string, limit int, cursor string) ([]string, string, error)
	lookupUsers(ctx context.Context, item schema.ItemRef, action schema.Action, limit int, cursor string) ([]string, string, error)
	Close() error
}

// checkRequest is one check as the HTTP API's /v1/check and
// /v1/check/bulk take it.
type checkRequest struct {
	ID         string         `json:"id,omitempty"`
	User       string         `json:"user"`
	Action     string         `json:"action"`
	Item       schema.ItemRef `json:"item"`
	SharedLink string         `json:"shared_link,omitempty"`
}

// question is the check for the checker, every field checked.
func (c checkRequest) question() (checker.Question, error) {
	act, err := parseAction(c.Action)
	if err != nil {
		return checker.Question{}, err
	}
	if _, err := parseItemType(c.Item.Type); err != nil {
		return checker.Question{}, fmt.Errorf("item: %w", err)
	}
	q := checker.Question{User: c.User, Action: act, Item: c.Item}
	if c.SharedLink != "" {
		l, err := checker.ParseSharedLink(c.SharedLink)
		if err != nil {
			return checker.Question{}, err
		}
		q.SharedLink = &l
	}
	return q, q.Validate()
}

// checkResult is one check's answer.
type checkResult struct {
	Allowed          bool            `json:"allowed"`
	ConsistencyToken string          `json:"consistency_token,omitempty"`
	Explanation      json.RawMessage `json:"explanation,omitempty"`
}

// open is the asker the flags name.
func (f *askFlags) open(ctx context.Context) (asker, error) {
	if f.sf.endpoint != "" {
		// Straight to SpiceDB, no server in between.
		st, err := openStack(ctx, &f.sf, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return &stackAsker{st: st, cons: checker.Consistency{Token: f.token}}, nil
	}
	key, err := f.ak.value()
	if err != nil {
		return nil, err
	}
	return &serverAsker{base: strings.TrimSuffix(f.server, "/"), key: key, token: f.token}, nil
}

// stackAsker asks SpiceDB through this process's own checker.
type stackAsker struct {
	st   *stack
	cons checker.Consistency
}

func (s *stackAsker) Close() error { return s.st.Close() }

func (s *stackAsker) check(ctx context.Context, c checkRequest, explain bool) (checkResult, error) {
	q, err := c.question()
	if err != nil {
		return checkResult{}, err
	}
	ans, err := s.st.checker.Check(ctx, q, s.cons)
	if err != nil {
		return checkResult{}, s.st.hint(err)
	}
	out := checkResult{Allowed: ans.Allowed, ConsistencyToken: ans.ConsistencyToken}
	if explain {
		ex, err := s.st.checker.Explain(ctx, q, s.cons)
		if err != nil {
			return checkResult{}, s.st.hint(err)
		}
		if out.Explanation, err = json.Marshal(ex); err != nil {
			return checkResult{}, err
		}
	}
	return out, nil
}

func (s *stackAsker) checkBulk(ctx context.Context, cs []checkRequest) ([]bool, string, error) {
	qs := make([]checker.Question, len(cs))
	for i, c := range cs {
		q, err := c.question()
		if err != nil {
			return nil, "", fmt.Errorf("check %d: %w", i+1, err)
		}
		qs[i] = q
	}
	as, err := s.st.checker.CheckBulk(ctx, qs, s.cons)
	if err != nil {
		return nil, "", s.st.hint(err)
	}
	out := make([]bool, len(as))
	token := ""
	for i, a := range as {
		out[i], token = a.Allowed, a.ConsistencyToken
	}
	return out, token, nil
}

func (s *stackAsker) lookupItems(ctx context.Context, user string, action schema.Action, typ string, limit int, cursor string) ([]string, string, error) {
	p, err := s.st.checker.LookupItems(ctx, user, action, typ, limit, cursor, s.cons)
	return p.Items, p.Cursor, s.st.hint(err)
}

func (s *stackAsker) lookupUsers(ctx context.Context, item schema.ItemRef, action schema.Action, limit int, cursor string) ([]string, string, error) {
	p, err := s.st.checker.LookupUsers(ctx, item, action, limit, cursor, s.cons)
	return p.Users, p.Cursor, s.st.hint(err)
}

// serverAsker asks a running boxauthz server over its HTTP API.
type serverAsker struct {
	base, key, token string
}

func (s *serverAsker) Close() error { return nil }

func (s *serverAsker) check(ctx context.Context, c checkRequest, explain bool) (checkResult, error) {
	if err := c.precheck(); err != nil {
		return checkResult{}, err
	}
	body := struct {
		checkRequest
		ConsistencyToken string `json:"consistency_token,omitempty"`
		Explain          bool   `json:"explain,omitempty"`
	}{c, s.token, explain}
	var out checkResult
	err := postJSON(ctx, s.base+"/v1/check", s.key, body, &out)
	return out, err
}

// bulkChunk is how many checks one /v1/check/bulk request carries.
const bulkChunk = 1000

func (s *serverAsker) checkBulk(ctx context.Context, cs []checkRequest) ([]bool, string, error) {
	for i, c := range cs {
		if err := c.precheck(); err != nil {
			return nil, "", fmt.Errorf("check %d: %w", i+1, err)
		}
	}
	out := make([]bool, 0, len(cs))
	token := s.token
	for start := 0; start < len(cs); start += bulkChunk {
		chunk := cs[start:min(start+bulkChunk, len(cs))]
		var resp struct {
			Results []struct {
				Allowed bool `json:"allowed"`
			} `json:"results"`
			ConsistencyToken string `json:"consistency_token"`
		}
		body := map[string]any{"checks": chunk}
		// Later chunks answer no older than the first.
		if token != "" {
			body["consistency_token"] = token
		}
		if err := postJSON(ctx, s.base+"/v1/check/bulk", s.key, body, &resp); err != nil {
			return nil, "", err
		}
		if len(resp.Results) != len(chunk) {
			return nil, "", fmt.Errorf("%s/v1/check/bulk answered %d results for %d checks", s.base, len(resp.Results), len(chunk))
		}
		for _, r := range resp.Results {
			out = append(out, r.Allowed)
		}
		token = resp.ConsistencyToken
	}
	return out, token, nil
}

func (s *serverAsker) lookupItems(ctx context.Context, user string, action schema.Action, typ string, limit int, cursor string) ([]string, string, error) {
	body := map[string]any{"user": user, "action": action, "type": typ, "limit": limit, "cursor": cursor, "consistency_token": s.token}
	var resp struct {
		Items  []string `json:"items"`
		Cursor string   `json:"cursor"`
	}
	err := postJSON(ctx, s.base+"/v1/lookup/items", s.key, omitEmpty(body), &resp)
	return resp.Items, resp.Cursor, err
}

func (s *serverAsker) lookupUsers(ctx context.Context, item schema.ItemRef, action schema.Action, limit int, cursor string) ([]string, string, error) {
	body := map[string]any{"item": item, "action": action, "limit": limit, "cursor": cursor, "consistency_token": s.token}
	var resp struct {
		Users  []string `json:"users"`
		Cursor string   `json:"cursor"`
	}
	err := postJSON(ctx, s.base+"/v1/lookup/users", s.key, omitEmpty(body), &resp)
	return resp.Users, resp.Cursor, err
}

// omitEmpty drops the zero strings and numbers of a request body: the API
// takes an absent field as the default.
func omitEmpty(m map[string]any) map[string]any {
	for k, v := range m {
		if v == "" || v == 0 {
			delete(m, k)
		}
	}
	return m
}

// postJSON posts body to url with the admin key and decodes a 200 answer
// into out. A 401 names the admin key flags.
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
		return fmt.Errorf("asking %s (is boxauthz serve running there? --server names it): %w", url, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading answer from %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rb, &e)
		if resp.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("%s answered %s: %w", url, resp.Status, errUnauthorized)
		}
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, e.Message)
	}
	return json.Unmarshal(rb, out)
}

// errNoAnswer is a lookup page that neither ends nor moves on.
var errNoAnswer = errors.New("the lookup gave the same cursor twice")

// hint is spicedbHint for the stack's SpiceDB.
func (s *stack) hint(err error) error {
	if err == nil || s.flags == nil {
		return err
	}
	return s.flags.hint(err)
}
