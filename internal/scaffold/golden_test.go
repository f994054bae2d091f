package scaffold

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from what the generator makes now")

// goldenVersion is the tailor version the golden trees require, so they
// do not change with each release.
const goldenVersion = "v1.2.3"

// TestGolden compares the trees the generator makes with those under
// testdata/golden, file by file; go test -run TestGolden -update rewrites
// them after a change to the templates, for review in the diff. Golden
// files carry the suffix .golden so that Go and git do not take them for
// the project's own.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, dir string)
	}{
		{"widgets-sqlite", func(t *testing.T, dir string) {
			mustNew(t, dir, Options{Name: "widgets", Module: "example.com/widgets", TailorVersion: goldenVersion})
		}},
		{"widgets-postgres", func(t *testing.T, dir string) {
			mustNew(t, dir, Options{Name: "widgets", Module: "example.com/widgets", DB: "postgres", TailorVersion: goldenVersion})
		}},
		{"widgets-grpc-events", func(t *testing.T, dir string) {
			mustNew(t, dir, Options{Name: "widgets", Module: "example.com/widgets", DB: "postgres", GRPC: true, Events: true, TailorVersion: goldenVersion})
			if _, err := AddResource(dir, "gadget", "", false); err != nil {
				t.Fatal(err)
			}
		}},
		{"widgets-grown", func(t *testing.T, dir string) {
			mustNew(t, dir, Options{Name: "widgets", Module: "example.com/widgets", TailorVersion: goldenVersion})
			if _, err := AddResource(dir, "person", "people", false); err != nil {
				t.Fatal(err)
			}
			if _, err := AddEndpoint(dir, "widget", "archive", EndpointOptions{Method: "POST", Auth: "user"}); err != nil {
				t.Fatal(err)
			}
			if _, err := AddEndpoint(dir, "widget", "search", EndpointOptions{Path: "/v1/widgets/search"}); err != nil {
				t.Fatal(err)
			}
			if _, err := AddEndpoint(dir, "person", "markVerified", EndpointOptions{Method: "PUT", Path: "/v1/people/{id}/verified/{by}", Auth: "role=admin,support"}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(t, dir)
			got := readTree(t, dir)
			golden := filepath.Join("testdata", "golden", tc.name)
			if *update {
				if err := os.RemoveAll(golden); err != nil {
					t.Fatal(err)
				}
				for p, b := range got {
					path := filepath.Join(golden, filepath.FromSlash(p)+".golden")
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			want := map[string][]byte{}
			for p, b := range readTree(t, golden) {
				want[strings.TrimSuffix(p, ".golden")] = b
			}
			for _, p := range sortedKeys(got, want) {
				switch g, w := got[p], want[p]; {
				case w == nil:
					t.Errorf("%s: made, but not in %s; run go test -run TestGolden -update and review the diff", p, golden)
				case g == nil:
					t.Errorf("%s: in %s, but no longer made", p, golden)
				case !bytes.Equal(g, w):
					t.Errorf("%s: differs from %s (run go test -run TestGolden -update and review the diff); got:\n%s", p, golden, g)
				}
			}
		})
	}
}

func mustNew(t *testing.T, dir string, o Options) {
	t.Helper()
	if _, err := New(dir, o); err != nil {
		t.Fatal(err)
	}
}

// readTree returns every file under dir by its slash-separated path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sortedKeys(maps ...map[string][]byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}
