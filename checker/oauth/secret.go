package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// writeAttempts bounds how often a token write aborted for contention is
// tried (see write).
const writeAttempts = 4

const (
	accessPrefix       = "bxat_"
	refreshPrefix      = "bxrt_"
	clientSecretPrefix = "bxcs_"
)

// newSecret returns a random token string (256 bits) and its hash.
func newSecret(prefix string) (string, string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("reading random bytes for a token: %w", err)
	}
	s := secretString(prefix, b)
	return s, hashToken(s), nil
}

func secretString(prefix string, b [32]byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// pairSecrets are the random parts of a pair's access and refresh token.
type pairSecrets struct{ access, refresh [32]byte }

func newPairSecrets() (pairSecrets, error) {
	var p pairSecrets
	if _, err := rand.Read(p.access[:]); err != nil {
		return p, fmt.Errorf("reading random bytes for a token: %w", err)
	}
	if _, err := rand.Read(p.refresh[:]); err != nil {
		return p, fmt.Errorf("reading random bytes for a token: %w", err)
	}
	return p, nil
}

func (p pairSecrets) strings() (access, refresh string) {
	return secretString(accessPrefix, p.access), secretString(refreshPrefix, p.refresh)
}

// sealKey is the key a pair issued for a spent refresh token is sealed
// under: an HMAC keyed with the token's string, which only whoever
// presents the token knows. SpiceDB holds the token's SHA-256, from which
// this cannot be computed, so its contents open no sealed pair.
func sealKey(spent string) []byte {
	m := hmac.New(sha256.New, []byte(spent))
	m.Write([]byte("boxauthz refresh retry v1"))
	return m.Sum(nil)
}

// sealPair seals the pair issued for the refresh token spent (whose hash is
// spentHash), with its access token's expiry, for a retry of that refresh
// within the reuse leeway (docs/model.md §6): AES-256-GCM under sealKey, the
// spent token's hash as additional data, as a SpiceDB object id.
func sealPair(spent, spentHash string, p pairSecrets, accessExpires time.Time) (string, error) {
	aead, err := pairAEAD(spent)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+72+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("reading random bytes for a sealed pair: %w", err)
	}
	plain := make([]byte, 0, 72)
	plain = append(append(plain, p.access[:]...), p.refresh[:]...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(accessExpires.UnixNano()))
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(spentHash))), nil
}

// openPair opens what sealPair sealed for the refresh token spent.
func openPair(spent, spentHash, sealed string) (pairSecrets, time.Time, error) {
	var p pairSecrets
	aead, err := pairAEAD(spent)
	if err != nil {
		return p, time.Time{}, err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return p, time.Time{}, errors.New("opening a sealed pair: not one boxauthz sealed")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(spentHash))
	if err != nil || len(plain) != 72 {
		return p, time.Time{}, errors.New("opening a sealed pair: not sealed for this refresh token")
	}
	copy(p.access[:], plain[:32])
	copy(p.refresh[:], plain[32:64])
	// The AEAD authenticated what sealPair wrote, an int64's bits, so the
	// conversion back cannot overflow.
	return p, time.Unix(0, int64(binary.BigEndian.Uint64(plain[64:]))), nil //nolint:gosec // G115: sealPair wrote an int64; the AEAD vouches for it.
}

func pairAEAD(spent string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(sealKey(spent))
	if err != nil {
		return nil, fmt.Errorf("sealing a pair: %w", err)
	}
	return cipher.NewGCM(block)
}

// hashToken is a token's id in SpiceDB. The hash is looked up, never
// compared, so a timing difference reveals nothing about a stored token.
func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// short names a token in logs by a prefix of its hash.
func short(hash string) string { return hash[:8] }

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes for an id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
