package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/tailorkit/tailor/internal/scaffold"
)

// tailorModule is the module the generated services require.
const tailorModule = "github.com/tailorkit/tailor"

// placeholderVersion is what go.mod requires of tailorModule when a
// replace directive says where it is: the go command's own placeholder.
const placeholderVersion = "v0.0.0-00010101000000-000000000000"

// command is one of tailor's commands.
type command struct {
	name     string // as typed: "add endpoint"
	synopsis string // one line: arguments and flags
	help     string // what it does, with an example
	run      func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error
	flags    func(fs *flag.FlagSet) // defines the flags; run reads them from fs
}

func commands() []command {
	return []command{
		{
			name:     "new",
			synopsis: "tailor new NAME [--module PATH] [--dir DIR] [--db sqlite|postgres] [--grpc] [--events] [--resource NAME] [--plural PLURAL] [--tailor-replace DIR] [--no-tidy]",
			help: `Writes a new service called NAME (lower case, digits and dashes) into DIR
(default ./NAME), which must be new or empty: main.go on the service
lifecycle, one example resource with create, get and list over HTTP, its
repository over SQL and its migration, /openapi.json, unit and HTTP tests,
a README, a Dockerfile, Kubernetes manifests (deploy/base and the
overlays deploy/overlays/dev and prod) and .gitignore. The example
resource is --resource, by default the singular of NAME's last word
("widgets" gives "widget"). Then it runs go mod tidy in DIR, which
downloads what the service needs (--no-tidy skips it).

--grpc serves each resource over gRPC too (on -grpc-addr, default :9090,
with the grpc.health.v1 health service), from its .proto in
proto/NAME/v1, which is yours; tailor new runs go generate ./proto/...,
which builds the protoc plugins that go.mod pins and runs protoc, so
protoc must be installed (Debian and Ubuntu: apt-get install
protobuf-compiler libprotobuf-dev). Run the same command after editing a
.proto.

--events makes the example resource's creation an event: it is written
to a transactional outbox in the same transaction, a relay publishes it
to NATS JetStream (NATS_URL) on a stream named after the service, and
package stats consumes it through an inbox, applying each event once, and
serves the count at GET /v1/stats.

go.mod requires github.com/tailorkit/tailor at the version of this tailor.
A tailor built from a source tree has no version: give --tailor-replace
with the folder of that tree, and go.mod replaces the module with it.

Example:
  tailor new widgets --module example.com/widgets --db postgres
  cd widgets && go test ./... && DATABASE_URL=postgres://... go run .
  tailor new orders --grpc --events`,
			flags: func(fs *flag.FlagSet) {
				fs.String("module", "", "the Go module path (default NAME)")
				fs.String("dir", "", "the folder to write the service into (default ./NAME)")
				fs.String("db", "sqlite", "the database: sqlite or postgres")
				fs.Bool("grpc", false, "serve the resources over gRPC too, from .proto files (needs protoc)")
				fs.Bool("events", false, "publish the example resource's created events through an outbox to NATS JetStream, and consume them through an inbox")
				fs.String("resource", "", "the example resource's name, singular (default from NAME)")
				fs.String("plural", "", "the example resource's plural, its path and table (default by the English rules)")
				fs.String("tailor-replace", "", "a folder holding github.com/tailorkit/tailor, for go.mod to replace the module with")
				fs.Bool("no-tidy", false, "do not run go mod tidy (for a machine without network)")
			},
			run: runNew,
		},
		{
			name:     "add resource",
			synopsis: "tailor add resource NAME [--plural PLURAL] [--dir DIR] [--force]",
			help: `Adds a resource called NAME (one lower-case word, singular) to the service:
internal/NAME with its type, business logic, repository interface, SQL
store and tests, which are yours; the next migration in
internal/database/migrations, yours too; and its routes, create, get and
list under /v1/PLURAL, in internal/NAME/http.gen.go, wired by
internal/app/app.gen.go, which tailor regenerates. It writes no file of
yours that exists, and refuses generated files edited by hand unless
--force.

In a service made with --grpc, the resource is served over gRPC too: its
own .proto in proto/SERVICE/v1 (yours) and internal/NAME/grpc.gen.go;
tailor then runs go generate ./proto/..., which needs protoc. In a service
made with --events, the new resource publishes no events: the example
resource shows how (its events.go and store.go).

Example:
  tailor add resource gadget
  tailor add resource person --plural people`,
			flags: func(fs *flag.FlagSet) {
				fs.String("plural", "", "the plural: the path /v1/PLURAL and the table (default by the English rules)")
				fs.String("dir", ".", "the service's folder")
				fs.Bool("force", false, "rewrite generated files even when edited by hand (never the user's)")
			},
			run: runAddResource,
		},
		{
			name:     "add endpoint",
			synopsis: "tailor add endpoint RESOURCE NAME [--method GET|POST|PUT|PATCH|DELETE] [--path PATH] [--auth user|role=NAME,...] [--summary TEXT] [--dir DIR] [--force]",
			help: `Adds an endpoint called NAME (lower camel case, such as archive or
markPaid) to RESOURCE: the method NAME (in upper camel case) of its
Service, with its request and response types, in a new file of yours,
internal/RESOURCE/NAME.go (markPaid gives mark_paid.go), and a test
beside it; then its route in internal/RESOURCE/http.gen.go and the
OpenAPI document. The new method answers an empty JSON object until you
write its logic. It is served over HTTP only, also in a service made
with --grpc: add its RPC to the resource's .proto and serve it from a
file of yours. The default method is GET, the default path
/v1/PLURAL/{id}/NAME in kebab case (markPaid gives mark-paid); each
{wildcard} of the path becomes a field of the request. POST, PUT and
PATCH read a JSON body into the request. With --auth user only a caller
with a verified bearer token may call it (401 otherwise), with
--auth role=admin only one with that role (403 otherwise); main.go
verifies tokens when AUTH_JWKS_URL is set.

Example:
  tailor add endpoint widget archive --method POST --auth role=admin
  tailor add endpoint widget search --path /v1/widgets/search`,
			flags: func(fs *flag.FlagSet) {
				fs.String("method", "GET", "the HTTP method")
				fs.String("path", "", "the path (default /v1/PLURAL/{id}/NAME)")
				fs.String("auth", "", "who may call it: user (any caller with a verified token) or role=NAME[,NAME] (default anyone)")
				fs.String("summary", "", "the OpenAPI summary (default from NAME and RESOURCE)")
				fs.String("dir", ".", "the service's folder")
				fs.Bool("force", false, "rewrite generated files even when edited by hand (never the user's)")
			},
			run: runAddEndpoint,
		},
		{
			name:     "generate",
			synopsis: "tailor generate [--dir DIR] [--force]",
			help: `Rewrites the generated files (those whose first line is
"// Code generated by tailor. DO NOT EDIT.") from tailor.json: after
tailor.json was edited, or after tailor doctor found one missing or
stale. A file edited by hand is left alone unless --force.

Example:
  tailor generate`,
			flags: func(fs *flag.FlagSet) {
				fs.String("dir", ".", "the service's folder")
				fs.Bool("force", false, "rewrite generated files even when edited by hand (never the user's)")
			},
			run: runGenerate,
		},
		{
			name:     "doctor",
			synopsis: "tailor doctor [--dir DIR]",
			help: `Checks the generated files against tailor.json and says which are
missing, hand-edited (they differ from what tailor wrote) or stale (tailor
would now write them differently), and what to do. It exits 1 when it
finds any.

Example:
  tailor doctor --dir ./widgets`,
			flags: func(fs *flag.FlagSet) {
				fs.String("dir", ".", "the service's folder")
			},
			run: runDoctor,
		},
		dashCommand(),
	}
}

const overview = `tailor scaffolds a service built on github.com/tailorkit/tailor and grows it.

Commands:
%s
Run tailor COMMAND --help for one command's flags and an example.

Files whose first line is "// Code generated by tailor. DO NOT EDIT." are
made from the service's tailor.json and rewritten by tailor; every other
file is yours, and tailor never writes it again.
`

// run runs the command line args (without the program's name).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	var list strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&list, "  %s\n", c.synopsis)
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, overview, list.String())
		return &scaffold.UsageError{Msg: "no command given"}
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprintf(stdout, overview, list.String())
		return nil
	}
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) < len(words) || strings.Join(args[:len(words)], " ") != c.name {
			continue
		}
		rest := args[len(words):]
		fs := flag.NewFlagSet("tailor "+c.name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		for _, a := range rest {
			if a == "--" {
				break
			}
			if isHelp(a) {
				printHelp(stdout, c, fs)
				return nil
			}
		}
		pos, err := parse(fs, rest)
		if err != nil {
			return &scaffold.UsageError{Msg: fmt.Sprintf("%s: %v; see tailor %s --help", c.name, err, c.name)}
		}
		return c.run(ctx, fs, pos, stdout, stderr)
	}
	if args[0] == "add" {
		return &scaffold.UsageError{Msg: "add what? tailor add resource NAME, or tailor add endpoint RESOURCE NAME"}
	}
	return &scaffold.UsageError{Msg: fmt.Sprintf("unknown command %q; the commands are new, add resource, add endpoint, generate, doctor and dash (tailor --help)", args[0])}
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

func printHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nFlags:\n", c.synopsis, c.help)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parse parses args into fs, with flags before, between or after the
// positional arguments, and returns the positional ones; the arguments
// after "--" are all positional.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// positional checks that args are exactly the names the command takes.
func positional(c string, args []string, names ...string) error {
	if len(args) == len(names) {
		return nil
	}
	want := "tailor " + c + " " + strings.Join(names, " ")
	if len(args) < len(names) {
		return &scaffold.UsageError{Msg: fmt.Sprintf("%s: missing %s; type %s (see --help)", c, names[len(args)], want)}
	}
	return &scaffold.UsageError{Msg: fmt.Sprintf("%s: unexpected %q after %s; type %s, with flags before or after (see --help)", c, args[len(names)], strings.Join(args[:len(names)], " "), want)}
}

func str(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

func boolean(fs *flag.FlagSet, name string) bool {
	return fs.Lookup(name).Value.(flag.Getter).Get().(bool)
}

func runNew(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	if err := positional("new", args, "NAME"); err != nil {
		return err
	}
	o := scaffold.Options{
		Name: args[0], Module: str(fs, "module"), DB: str(fs, "db"),
		Resource: str(fs, "resource"), Plural: str(fs, "plural"),
		GRPC: boolean(fs, "grpc"), Events: boolean(fs, "events"),
	}
	dir := str(fs, "dir")
	if dir == "" {
		dir = o.Name
	}
	noTidy := boolean(fs, "no-tidy")
	if r := str(fs, "tailor-replace"); r != "" {
		abs, err := checkTailorTree(r)
		if err != nil {
			return err
		}
		o.TailorReplace, o.TailorVersion = abs, placeholderVersion
	} else {
		v, ok := releaseVersion()
		if !ok && !noTidy {
			return &scaffold.UsageError{Msg: fmt.Sprintf("this tailor was built from a source tree (version %s), so go.mod cannot require a release of %s: "+
				"give the tree with --tailor-replace DIR (in the tree itself: --tailor-replace .), or install a release with go install %s/cmd/tailor@latest", v, tailorModule, tailorModule)}
		}
		if !ok {
			v = placeholderVersion
		}
		o.TailorVersion = v
	}
	if o.GRPC && !noTidy {
		if err := checkProtoc(); err != nil {
			return err
		}
	}
	change, err := scaffold.New(dir, o)
	if err != nil {
		return err
	}
	report(stdout, dir, change)
	if !noTidy {
		fmt.Fprintf(stdout, "running go mod tidy in %s\n", dir)
		if err := goCommand(ctx, dir, stdout, stderr, "mod", "tidy"); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w; the service is written: fix what go says, then run go mod tidy there", dir, err)
		}
		if o.GRPC {
			if err := protoGenerate(ctx, dir, stdout, stderr); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "\nnext:\n  cd %s\n", dir)
	if o.GRPC && noTidy {
		fmt.Fprintf(stdout, "  go mod tidy && %s    # the gRPC code, with protoc installed\n", scaffold.ProtoCommand)
	}
	fmt.Fprintf(stdout, "  go test ./...\n  go run .\n")
	return nil
}

// checkProtoc fails, saying how to install it, when protoc is not on
// PATH.
func checkProtoc() error {
	if _, err := exec.LookPath("protoc"); err != nil {
		return errors.New("a service with gRPC needs protoc, to make the Go code of its .proto files, and it is not on PATH: " +
			"install it (Debian and Ubuntu: apt-get install protobuf-compiler libprotobuf-dev; macOS: brew install protobuf) and run the command again; " +
			"or run tailor new with --no-tidy, which writes everything else, and then " + scaffold.ProtoCommand + " in the service once protoc is there")
	}
	return nil
}

// protoGenerate makes the Go code of the .proto files of the service in
// dir, then tidies go.mod for the imports of that code.
func protoGenerate(ctx context.Context, dir string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "running %s in %s\n", scaffold.ProtoCommand, dir)
	if err := goCommand(ctx, dir, stdout, stderr, strings.Fields(scaffold.ProtoCommand)[1:]...); err != nil {
		return fmt.Errorf("%s in %s: %w; the service is written: fix what protoc says, then run %s there", scaffold.ProtoCommand, dir, err, scaffold.ProtoCommand)
	}
	if err := goCommand(ctx, dir, stdout, stderr, "mod", "tidy"); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w; the service is written: fix what go says, then run go mod tidy there", dir, err)
	}
	return nil
}

// checkTailorTree returns dir as an absolute path after checking that it
// holds the tailor module.
func checkTailorTree(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module "+tailorModule+"\n") {
		return "", &scaffold.UsageError{Msg: fmt.Sprintf("--tailor-replace %s: %s has no go.mod of %s; give the folder of a tailor checkout", dir, abs, tailorModule)}
	}
	return abs, nil
}

// releaseVersion is the version of the tailor module this program was
// built from, and whether it is a release that go.mod can require.
func releaseVersion() (string, bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)", false
	}
	v := info.Main.Version
	if info.Main.Path != tailorModule {
		for _, d := range info.Deps {
			if d.Path == tailorModule {
				v = d.Version
			}
		}
	}
	if !semver.IsValid(v) || strings.Contains(v, "+") || module.IsPseudoVersion(v) && strings.HasPrefix(v, "v0.0.0-") {
		return v, false
	}
	return v, true
}

// goCommand runs the go command in dir, its output to stdout and stderr.
// The caller's -mod setting in GOFLAGS is left out: go mod tidy refuses
// it, and the new module is not the caller's.
func goCommand(ctx context.Context, dir string, stdout, stderr io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if !strings.HasPrefix(f, "-mod=") {
			flags = append(flags, f)
		}
	}
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(flags, " "))
	return cmd.Run()
}

func runAddResource(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	if err := positional("add resource", args, "NAME"); err != nil {
		return err
	}
	dir := str(fs, "dir")
	m, err := scaffold.LoadManifest(dir)
	if err != nil {
		return err
	}
	if m.GRPC {
		if err := checkProtoc(); err != nil {
			return err
		}
	}
	change, err := scaffold.AddResource(dir, args[0], str(fs, "plural"), boolean(fs, "force"))
	if err != nil {
		return err
	}
	report(stdout, dir, change)
	if m.GRPC {
		if err := protoGenerate(ctx, dir, stdout, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nnext: write the logic in internal/%s/%s.go, then go test ./...\n", args[0], args[0])
	return nil
}

func runAddEndpoint(_ context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	if err := positional("add endpoint", args, "RESOURCE", "NAME"); err != nil {
		return err
	}
	dir := str(fs, "dir")
	change, err := scaffold.AddEndpoint(dir, args[0], args[1], scaffold.EndpointOptions{
		Method: str(fs, "method"), Path: str(fs, "path"), Summary: str(fs, "summary"), Auth: str(fs, "auth"), Force: boolean(fs, "force"),
	})
	if err != nil {
		return err
	}
	report(stdout, dir, change)
	if len(change.Files) > 0 {
		fmt.Fprintf(stdout, "\nnext: write the logic in %s, then go test ./...\n", change.Files[0].Path)
	}
	return nil
}

func runGenerate(_ context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	if err := positional("generate", args); err != nil {
		return err
	}
	dir := str(fs, "dir")
	change, err := scaffold.Generate(dir, boolean(fs, "force"))
	if err != nil {
		return err
	}
	report(stdout, dir, change)
	return nil
}

func runDoctor(_ context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	if err := positional("doctor", args); err != nil {
		return err
	}
	found, err := scaffold.Doctor(str(fs, "dir"))
	if err != nil {
		return err
	}
	if len(found) == 0 {
		fmt.Fprintln(stdout, "every generated file is what tailor would write")
		return nil
	}
	for _, f := range found {
		fmt.Fprintln(stdout, f)
	}
	return errors.New(plural(len(found), "generated file needs", "generated files need") + " attention")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// report lists what a command wrote.
func report(w io.Writer, dir string, c *scaffold.Change) {
	for _, f := range c.Files {
		kind := "created  "
		if f.Generated {
			kind = "generated"
		}
		fmt.Fprintf(w, "%s %s\n", kind, filepath.Join(dir, filepath.FromSlash(f.Path)))
	}
	if len(c.Files) == 0 {
		fmt.Fprintln(w, "every generated file was up to date")
	}
}
