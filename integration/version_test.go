package integration

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestSpiceDBVersionIsGoMods keeps the SpiceDB the containers run the one
// boxauthz builds and tests against: SpiceDBVersion is a constant so that
// users' go.mod cannot move it, and this test stops it drifting from ours.
func TestSpiceDBVersionIsGoMods(t *testing.T) {
	const module = "github.com/authzed/spicedb"
	path := filepath.Join("..", "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, r := range f.Require {
		if r.Mod.Path == module {
			want = r.Mod.Version
		}
	}
	for _, r := range f.Replace {
		if r.Old.Path == module && r.New.Version != "" {
			want = r.New.Version
		}
	}
	if want == "" {
		t.Fatalf("%s requires no %s", path, module)
	}
	if SpiceDBVersion != want {
		t.Errorf("SpiceDBVersion = %s, but go.mod has %s %s: change the constant with the requirement", SpiceDBVersion, module, want)
	}
	if DefaultImage != "authzed/spicedb:"+want {
		t.Errorf("DefaultImage = %s, want authzed/spicedb:%s", DefaultImage, want)
	}
}

func TestDefaultImage(t *testing.T) {
	t.Setenv(ImageEnv, "")
	if got := defaultImage(); got != DefaultImage {
		t.Errorf("image without $%s = %s, want %s", ImageEnv, got, DefaultImage)
	}
	t.Setenv(ImageEnv, "mirror.example/spicedb:v1")
	if got := defaultImage(); got != "mirror.example/spicedb:v1" {
		t.Errorf("image with $%s set = %s, want its value", ImageEnv, got)
	}
}
