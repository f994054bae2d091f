package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailorkit/tailor/internal/scaffold"
)

func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func isUsageError(err error) bool {
	var u *scaffold.UsageError
	return errors.As(err, &u)
}

// TestHelp: every command answers --help with its flags and an example,
// on standard output, without error.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		for _, help := range []string{"--help", "-h"} {
			args := append(strings.Fields(c.name), help)
			out, _, err := runCLI(args...)
			if err != nil {
				t.Errorf("tailor %s: %v, want no error", strings.Join(args, " "), err)
			}
			flag := "-dir" // every command but dash works on a service's folder
			if c.name == "dash" {
				flag = "-addr"
			}
			for _, want := range []string{"usage: tailor " + c.name, "Example:\n  tailor " + c.name, "Flags:", flag} {
				if !strings.Contains(out, want) {
					t.Errorf("tailor %s: the help does not say %q:\n%s", strings.Join(args, " "), want, out)
				}
			}
		}
	}
	out, _, err := runCLI("--help")
	if err != nil || !strings.Contains(out, "tailor add endpoint RESOURCE NAME") {
		t.Errorf("tailor --help: %v\n%s", err, out)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"build"}, `unknown command "build"`},
		{[]string{"add"}, "add what?"},
		{[]string{"add", "widget"}, "add what?"},
		{[]string{"new"}, "missing NAME; type tailor new NAME"},
		{[]string{"new", "a", "b"}, `unexpected "b"`},
		{[]string{"new", "widgets", "--colour", "red"}, "flag provided but not defined: -colour"},
		{[]string{"new", "Widgets", "--dir", dir, "--no-tidy"}, `try "widgets"`},
		{[]string{"new", "widgets", "--tailor-replace", dir}, "no go.mod of github.com/tailorkit/tailor"},
		// A test binary, like go run, is a build from a source tree.
		{[]string{"new", "widgets", "--dir", dir + "/w"}, "built from a source tree"},
		{[]string{"add", "endpoint", "widget"}, "missing NAME"},
		{[]string{"add", "resource", "gadget", "--dir", dir}, "not a service made by tailor"},
		{[]string{"doctor", "extra"}, `unexpected "extra"`},
	} {
		_, _, err := runCLI(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("tailor %s: got %v, want an error that says %q", strings.Join(tc.args, " "), err, tc.want)
			continue
		}
		if tc.want != "not a service made by tailor" && !isUsageError(err) {
			t.Errorf("tailor %s: %v is not a usage error (exit 2)", strings.Join(tc.args, " "), err)
		}
	}
}

// TestFlagsAnywhere: flags may come before or after the arguments.
func TestFlagsAnywhere(t *testing.T) {
	root := t.TempDir()
	out, _, err := runCLI("new", "--dir", root+"/a", "--no-tidy", "widgets", "--db", "postgres")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"created   " + root + "/a/main.go", "generated " + root + "/a/internal/app/app.gen.go", "go test ./..."} {
		if !strings.Contains(out, want) {
			t.Errorf("tailor new: the output does not say %q:\n%s", want, out)
		}
	}
	if out, _, err = runCLI("add", "endpoint", "--dir", root+"/a", "widget", "archive", "--method", "POST"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "next: write the logic in internal/widget/archive.go") {
		t.Errorf("tailor add endpoint: got\n%s", out)
	}
	if out, _, err = runCLI("doctor", "--dir", root+"/a"); err != nil || !strings.Contains(out, "every generated file is what tailor would write") {
		t.Errorf("tailor doctor: %v\n%s", err, out)
	}
}

// TestNewGRPCWithoutProtoc: without protoc, tailor new --grpc says how to
// install it before it writes anything; with --no-tidy it writes the
// service and prints the command that makes the gRPC code later.
func TestNewGRPCWithoutProtoc(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "widgets")
	_, _, err := runCLI("new", "widgets", "--grpc", "--dir", dir, "--tailor-replace", filepath.Join("..", ".."))
	if err == nil || !strings.Contains(err.Error(), "apt-get install protobuf-compiler") || !strings.Contains(err.Error(), "--no-tidy") {
		t.Errorf("tailor new --grpc without protoc: got %v, want an error that says how to install it", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tailor new --grpc without protoc wrote %s (%v); want nothing written", dir, err)
	}
	out, _, err := runCLI("new", "widgets", "--grpc", "--dir", dir, "--no-tidy")
	if err != nil || !strings.Contains(out, "go mod tidy && go generate ./proto/...") {
		t.Errorf("tailor new --grpc --no-tidy: %v\n%s", err, out)
	}
}
