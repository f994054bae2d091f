package scaffold

import (
	"fmt"
	"go/token"
	"net/http"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/mod/module"
)

var (
	serviceNameRE  = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	resourceNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	pluralRE       = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$`)
	endpointNameRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	wildcardRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	roleRE         = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
)

// UsageError is an error in what the user typed: a name, a flag value.
// The command line exits 2 for it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// suggest turns s into something close that matches the rule of a name:
// lower case, with dashes (dash true) or nothing between words.
func suggest(s string, dash bool) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case dash && b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(strings.TrimRight(b.String(), "-"), "0123456789-")
	if out == "" {
		return "widgets"
	}
	return out
}

func checkServiceName(name string) error {
	if !serviceNameRE.MatchString(name) {
		return usagef("service name %q: use lower-case letters, digits and dashes, starting with a letter, at most 63 characters (it names the binary, the container and the Kubernetes objects); try %q", name, suggest(name, true))
	}
	return nil
}

func checkModule(path string) error {
	if err := module.CheckImportPath(path); err != nil {
		return usagef("module path %q: %v; give a path such as example.com/team/widgets with --module", path, err)
	}
	return nil
}

func checkDB(db string) error {
	switch db {
	case "sqlite", "postgres":
		return nil
	}
	return usagef("database %q: tailor knows sqlite and postgres; type --db sqlite or --db postgres", db)
}

// reservedPackage reports whether a resource's package name would clash
// with Go or with the names the generated code imports.
func reservedPackage(name string) bool {
	if token.IsKeyword(name) {
		return true
	}
	switch name {
	// predeclared identifiers
	case "any", "bool", "byte", "comparable", "complex64", "complex128", "error", "float32", "float64",
		"int", "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
		"true", "false", "iota", "nil", "append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len",
		"make", "max", "min", "new", "panic", "print", "println", "real", "recover":
		return true
	// the generated code's imports and folders
	case "app", "database", "databasetest", "internal", "kithttp", "main", "openapi", "sql", "testdata", "thttp", "vendor",
		"grpc", "kitgrpc", "tgrpc", "proto", "stats":
		return true
	}
	return false
}

// buildConstrained reports whether a file named name.go would be built
// only for one operating system or architecture.
func buildConstrained(name string) bool {
	switch name {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd",
		"openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
		"amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle", "mips64", "mips64le",
		"mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm":
		return true
	}
	return false
}

func checkResourceName(name string) error {
	if !resourceNameRE.MatchString(name) {
		return usagef("resource name %q: use one lower-case word of letters and digits, singular (it is the Go package and the type); try %q", name, suggest(name, false))
	}
	if reservedPackage(name) {
		return usagef("resource name %q is taken by Go or by the generated code; pick another, such as %q", name, "my"+name)
	}
	return nil
}

func checkPlural(p string) error {
	if !pluralRE.MatchString(p) {
		return usagef("plural %q: use lower-case letters, digits and dashes (it is the path segment /v1/%s and the table); try --plural %s", p, p, suggest(p, true))
	}
	return nil
}

// checkEndpoint checks an endpoint's name, method and path.
func checkEndpoint(r Resource, e Endpoint) error {
	if !endpointNameRE.MatchString(e.Name) {
		return usagef("endpoint name %q: use a Go identifier in lower camel case, such as archive or markPaid; try %q", e.Name, lowerCamel(e.Name))
	}
	if token.IsKeyword(e.Name) {
		return usagef("endpoint name %q is a Go keyword; pick another, such as %q", e.Name, e.Name+"Item")
	}
	if !builtin(e.Name) {
		file := fileName(e.Name)
		words := strings.Split(file, "_")
		last := words[len(words)-1]
		switch {
		case e.Name == r.Name || e.Name == "store" || e.Name == "http":
			return usagef("endpoint name %q would write internal/%s/%s_test.go, which is another file's name; pick another", e.Name, r.Name, file)
		case len(words) > 1 && last == "test":
			return usagef("endpoint name %q would write internal/%s/%s.go, which Go takes for a test file; pick another", e.Name, r.Name, file)
		case len(words) > 1 && buildConstrained(last):
			return usagef("endpoint name %q would write internal/%s/%s.go, which Go builds only on %s; pick another", e.Name, r.Name, file, last)
		}
	}
	switch e.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return usagef("method %q: use GET, POST, PUT, PATCH or DELETE", e.Method)
	}
	if !strings.HasPrefix(e.Path, "/") || strings.ContainsAny(e.Path, " \t?#") || strings.Contains(e.Path, "//") {
		return usagef("path %q: give a path that starts with /, without spaces, query or fragment, such as /v1/%s/{id}/%s", e.Path, r.Plural, kebab(e.Name))
	}
	if _, err := wildcards(e.Path); err != nil {
		return err
	}
	if _, err := roles(e.Auth); err != nil {
		return err
	}
	return nil
}

// roles reads an endpoint's Auth: nil for anyone, an empty list for any
// verified caller, else the roles of which a caller needs one.
func roles(a string) ([]string, error) {
	switch {
	case a == "":
		return nil, nil
	case a == "user":
		return []string{}, nil
	case strings.HasPrefix(a, "role="):
		rs := strings.Split(strings.TrimPrefix(a, "role="), ",")
		for _, r := range rs {
			if !roleRE.MatchString(r) {
				return nil, usagef("auth %q: role %q must be letters, digits and _.:-; type --auth role=admin or --auth role=admin,support", a, r)
			}
		}
		return rs, nil
	}
	return nil, usagef("auth %q: type --auth user (any caller with a verified token) or --auth role=NAME[,NAME] (a caller with one of the roles)", a)
}

// builtin reports whether an endpoint is one every resource starts with.
func builtin(name string) bool {
	return name == "create" || name == "get" || name == "list"
}

// checkRoutes checks that no two endpoints of the resources serve the
// same requests, as http.ServeMux would refuse them.
func checkRoutes(resources []Resource) (err error) {
	mux := http.NewServeMux()
	var last string
	defer func() {
		if p := recover(); p != nil {
			err = usagef("route %s: %v; give another --path or --method", last, p)
		}
	}()
	for _, r := range resources {
		for _, e := range r.Endpoints {
			last = e.Method + " " + e.Path
			mux.Handle(last, http.NotFoundHandler())
		}
	}
	return nil
}

// wildcard is one wildcard of a path: {id} is Name "id", Field "ID".
type wildcard struct {
	Name  string
	Field string
}

// wildcards lists path's wildcards, in order.
func wildcards(path string) ([]wildcard, error) {
	var ws []wildcard
	seen := map[string]bool{}
	for _, seg := range strings.Split(path, "/") {
		if !strings.HasPrefix(seg, "{") {
			if strings.ContainsAny(seg, "{}") {
				return nil, usagef("path segment %q: a wildcard is a whole segment, such as {id}", seg)
			}
			continue
		}
		name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"), "...")
		if !strings.HasSuffix(seg, "}") || !wildcardRE.MatchString(name) {
			return nil, usagef("path segment %q: a wildcard is a Go identifier in braces, such as {id}", seg)
		}
		if name == "$" {
			continue
		}
		if seen[name] {
			return nil, usagef("wildcard {%s} appears twice in the path", name)
		}
		seen[name] = true
		ws = append(ws, wildcard{Name: name, Field: upperCamel(name)})
	}
	return ws, nil
}

// upperCamel is a Go identifier's exported form: "id" is "ID",
// "markPaid" is "MarkPaid", "order_id" is "OrderID".
func upperCamel(s string) string {
	var b strings.Builder
	for _, word := range strings.FieldsFunc(s, func(c rune) bool { return c == '_' || c == '-' }) {
		switch strings.ToLower(word) {
		case "id", "url", "http", "json", "api", "sql":
			b.WriteString(strings.ToUpper(word))
		default:
			r := []rune(word)
			r[0] = unicode.ToUpper(r[0])
			b.WriteString(string(r))
		}
	}
	return b.String()
}

// lowerCamel suggests an endpoint name for s: "mark-paid" is "markPaid".
func lowerCamel(s string) string {
	u := upperCamel(suggest(s, true))
	if u == "" {
		return "action"
	}
	r := []rune(u)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// fileName is the file of an endpoint's logic, without ".go":
// "markPaid" is "mark_paid".
func fileName(name string) string {
	return strings.ReplaceAll(kebab(name), "-", "_")
}

// kebab is an endpoint name as a path segment: "markPaid" is "mark-paid".
func kebab(s string) string {
	var b strings.Builder
	for i, c := range s {
		if unicode.IsUpper(c) {
			if i > 0 {
				b.WriteByte('-')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// plural is the English plural of a singular noun, by the common rules;
// --plural gives it where they are wrong ("person").
func plural(s string) string {
	switch {
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "z"),
		strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	case len(s) > 1 && strings.HasSuffix(s, "y") && !strings.ContainsRune("aeiou", rune(s[len(s)-2])):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

// exampleResource is the resource tailor new starts a service with: the
// singular of the last word of its name ("widgets" gives "widget"), or
// "item" where that is not a valid resource name.
func exampleResource(service string) string {
	word := service[strings.LastIndex(service, "-")+1:]
	switch {
	case strings.HasSuffix(word, "ies"):
		word = strings.TrimSuffix(word, "ies") + "y"
	case strings.HasSuffix(word, "ss"):
	case strings.HasSuffix(word, "s"):
		word = strings.TrimSuffix(word, "s")
	}
	if checkResourceName(word) != nil {
		return "item"
	}
	return word
}
