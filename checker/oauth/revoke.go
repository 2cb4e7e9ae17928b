package oauth

import (
	"context"
	"fmt"
	"log/slog"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema/rel"
)

// Revoke ends the pair a token (access or refresh) belongs to, and every
// token downscoped from it. An unknown token is not an error (RFC 7009).
//
// Revoke presents no client credentials: only the default application's
// tokens are revoked so; RevokeAs presents an application's.
func (t *Tokens) Revoke(ctx context.Context, token string) error {
	return t.RevokeAs(ctx, ClientCredentials{}, token)
}

// RevokeAs is Revoke by the client that presented c: the client is
// authenticated first, then must be the one the token was issued to (RFC
// 7009 §2.1).
func (t *Tokens) RevokeAs(ctx context.Context, c ClientCredentials, token string) error {
	clientApp, err := t.authenticate(ctx, c)
	if err != nil {
		return err
	}
	if token == "" {
		return oauthErr("invalid_request", "token is required")
	}
	h := hashToken(token)
	var access, refresh, grant string
	rm, ok, err := t.readRefresh(ctx, h)
	if err != nil {
		return err
	}
	if ok {
		refresh, access, grant = h, rm.access, rm.grant
	} else {
		m, ok, err := t.readAccess(ctx, h)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		access, refresh, grant = h, m.refresh, m.grant
	}
	if err := issuedTo(c, clientApp, grant); err != nil {
		return err
	}
	var ups []*v1.RelationshipUpdate
	if access != "" {
		ups = append(ups, rel.Delete(rel.NewRaw(typeAccessToken, access, relAlive, flagOnSubject())))
	}
	if refresh != "" {
		ups = append(ups, rel.Delete(rel.NewRaw(typeRefreshToken, refresh, relAlive, flagOnSubject())))
	}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		return fmt.Errorf("revoking token %s: %w", short(h), err)
	}
	if err := t.settle(ctx, fmt.Sprintf("revoking token %s", short(h)), ups...); err != nil {
		return err
	}
	t.logger.Info("token revoked", slog.String("token", short(h)))
	return nil
}
