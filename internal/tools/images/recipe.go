package images

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
)

// RecipeLabel is the image label that identifies how a local image was
// built (a hash of its Dockerfile and inputs). A local image whose label
// differs from the current recipe is rebuilt rather than reused.
const RecipeLabel = "dev.boxauthz.recipe"

// recipe hashes the inputs of a local image.
func recipe(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefixed, so that moving bytes between parts changes it.
		var n [8]byte
		for i, l := 0, uint64(len(p)); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// cacheDir is a directory kept between runs for local image inputs (the
// boxauthz binary, so that an unchanged one is not linked again).
func cacheDir(name string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "boxauthz", name)
	return dir, os.MkdirAll(dir, 0o750)
}
