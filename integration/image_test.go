package integration

import (
	"errors"
	"strings"
	"testing"
)

// TestImageErrorSaysHowToGetOne: the error a missing image fails with names
// the image and where one comes from, for either kind.
func TestImageErrorSaysHowToGetOne(t *testing.T) {
	pull := errors.New("dial tcp: lookup registry-1.docker.io: no such host")
	for _, tc := range []struct {
		what, image string
		want        []string
	}{
		{"spicedb", DefaultImage, []string{DefaultImage, "scripts/local-images", ImageEnv, "boxauthz-local/spicedb:" + SpiceDBVersion, "no such host"}},
		{"boxauthz", DefaultBoxauthzImage, []string{DefaultBoxauthzImage, "scripts/local-images", BoxauthzImageEnv, "docker build", "no such host"}},
	} {
		err := error(&ImageError{Image: tc.image, What: tc.what, Err: pull})
		if !errors.Is(err, ErrImageUnavailable) || !errors.Is(err, pull) {
			t.Errorf("%s: errors.Is does not reach ErrImageUnavailable and the pull error: %v", tc.what, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not mention %q", tc.what, err, w)
			}
		}
	}
}
