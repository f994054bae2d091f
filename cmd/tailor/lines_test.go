package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandWrittenLines measures what a user writes by hand for a service
// of three endpoints in the shape of go-kit's addsvc (POST /v1/sum,
// /v1/concat and /v1/max, each refusing bad input with 4xx):
//
//   - with tailor: the lines of testdata/lines/tailor (the endpoints'
//     files as the user finishes them, a test included) that are not in
//     the stubs tailor add endpoint writes;
//   - with plain go-kit: every line of testdata/lines/gokit (service,
//     endpoints, HTTP transport, main with graceful shutdown; no tests,
//     no database, metrics, tracing or OpenAPI, which tailor's service
//     has).
//
// Blank lines and comments are not counted. The target is a third.
func TestHandWrittenLines(t *testing.T) {
	dir := t.TempDir()
	cmds := [][]string{{"new", "calc", "--dir", dir, "--no-tidy"}}
	for _, e := range []string{"sum", "concat", "max"} {
		cmds = append(cmds, []string{"add", "endpoint", "calc", e, "--method", "POST", "--path", "/v1/" + e, "--dir", dir})
	}
	for _, args := range cmds {
		if _, _, err := runCLI(args...); err != nil {
			t.Fatalf("tailor %s: %v", strings.Join(args, " "), err)
		}
	}
	withTailor := 0
	for _, f := range []string{"sum.go", "concat.go", "max.go", "max_test.go"} {
		stub := readFile(t, filepath.Join(dir, "internal", "calc", f))
		mine := readFile(t, filepath.Join("testdata", "lines", "tailor", f))
		withTailor += added(stub, mine)
	}
	withGoKit := 0
	files, err := filepath.Glob(filepath.Join("testdata", "lines", "gokit", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata/lines/gokit: %v, %d files", err, len(files))
	}
	for _, f := range files {
		withGoKit += len(code(readFile(t, f)))
	}
	t.Logf("lines written by hand: %d with tailor, %d with plain go-kit (%.2f)", withTailor, withGoKit, float64(withTailor)/float64(withGoKit))
	if withTailor*3 > withGoKit {
		t.Errorf("with tailor %d lines, with go-kit %d: more than a third", withTailor, withGoKit)
	}
	if _, err := os.Stat(filepath.Join(dir, "internal", "calc", "sum_test.go")); err != nil {
		t.Errorf("tailor add endpoint wrote no test: %v", err)
	}
}

// code returns the lines of Go source src that are neither blank nor
// comments, trimmed.
func code(src string) []string {
	var lines []string
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "//") {
			lines = append(lines, l)
		}
	}
	return lines
}

// added counts the lines of code in mine that stub does not have.
func added(stub, mine string) int {
	have := map[string]int{}
	for _, l := range code(stub) {
		have[l]++
	}
	n := 0
	for _, l := range code(mine) {
		if have[l] > 0 {
			have[l]--
			continue
		}
		n++
	}
	return n
}
