package images

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// finalStage returns the runtime instructions (USER, WORKDIR, ENV, EXPOSE,
// HEALTHCHECK, ENTRYPOINT, CMD) of a Dockerfile's last stage, continuation lines joined.
func finalStage(t *testing.T, text string) []string {
	t.Helper()
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if cur.Len() == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s)
			continue
		}
		cur.WriteString(l)
		lines = append(lines, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("no FROM")
	}
	var out []string
	for _, l := range lines[last:] {
		kw, _, _ := strings.Cut(l, " ")
		if slices.Contains([]string{"FROM", "USER", "WORKDIR", "ENV", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD"}, strings.ToUpper(kw)) {
			out = append(out, l)
		}
	}
	return out
}

// TestDockerfilesAgree: the image scripts/local-images builds on the host
// runs like the one the repository's Dockerfile builds in a golang
// container.
func TestDockerfilesAgree(t *testing.T) {
	root, err := os.ReadFile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	want := finalStage(t, string(root))
	got := finalStage(t, string(boxauthzDockerfile))
	if !slices.Equal(got, want) {
		t.Errorf("internal/tools/images/boxauthz.Dockerfile's final stage differs from the Dockerfile's:\n got %q\nwant %q", got, want)
	}
	if want[0] != "FROM scratch" || !slices.Contains(want, "USER 65532:65532") {
		t.Errorf("the Dockerfile's final stage should be FROM scratch as a non-root user: %q", want)
	}
}

func TestDebianMirror(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", "http://deb.debian.org/debian"},
		{"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", ""},
		{"deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n", ""},
		{"# deb http://old/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n", "http://mirror.example/debian"},
		{"deb http://ftp.de.debian.org/debian bookworm main contrib\n", "http://ftp.de.debian.org/debian"},
		{"Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n", ""},
	} {
		if got := debianMirror([]byte(c.src)); got != c.want {
			t.Errorf("debianMirror(%q) = %q, want %q", c.src, got, c.want)
		}
	}
}

func TestRecipe(t *testing.T) {
	if recipe([]byte("ab"), []byte("c")) == recipe([]byte("a"), []byte("bc")) {
		t.Error("recipe ignores where parts end")
	}
	if first, again := recipe([]byte("a")), recipe([]byte("a")); first != again {
		t.Error("recipe is not deterministic")
	}
}
