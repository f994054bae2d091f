package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// variable is one environment variable a service's program reads, as
// its -help lists it.
type variable struct {
	name     string
	required bool
	// unless names a variable that, when set, stands in for a required
	// one.
	unless string
}

var (
	variableLine = regexp.MustCompile(`^  ([A-Z_][A-Z0-9_]*)(?: \(required(?: unless ([A-Z_][A-Z0-9_]*) is set)?\))?$`)
	usageLine    = regexp.MustCompile(`^\s+\t`)
)

// parseEnvironment reads the variables a program's -help lists after the
// line "Environment:": one line per variable, two spaces then its name,
// then "(required)" or "(required unless OTHER is set)" where it is
// required; each followed by lines of usage that start with a tab.
func parseEnvironment(help string) ([]variable, error) {
	sc := bufio.NewScanner(strings.NewReader(help))
	in := false
	var vars []variable
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in:
			in = strings.TrimSpace(line) == "Environment:"
		case strings.TrimSpace(line) == "":
		case usageLine.MatchString(line):
			if len(vars) == 0 {
				return nil, fmt.Errorf("usage line %q before the first variable", line)
			}
		default:
			m := variableLine.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("line %q under Environment: is neither a variable (two spaces, NAME, then maybe (required) or (required unless OTHER is set)) nor a usage line (starting with a tab)", line)
			}
			vars = append(vars, variable{name: m[1], required: strings.Contains(line, "(required"), unless: m[2]})
		}
	}
	switch {
	case !in:
		return nil, errors.New(`no line "Environment:"`)
	case len(vars) == 0:
		return nil, errors.New(`no variable after the line "Environment:"`)
	}
	return vars, nil
}

// checkEnvironment compares what a container sets with what its program
// reads: every variable set must be read, and every required one set (or
// the one that stands in for it).
func checkEnvironment(reads []variable, set []string) []error {
	var errs []error
	known := map[string]bool{}
	for _, v := range reads {
		known[v.name] = true
	}
	for _, name := range set {
		if !known[name] {
			errs = append(errs, fmt.Errorf("sets %s, which the program does not read", name))
		}
	}
	for _, v := range reads {
		if v.required && !slices.Contains(set, v.name) && (v.unless == "" || !slices.Contains(set, v.unless)) {
			if v.unless != "" {
				errs = append(errs, fmt.Errorf("sets neither %s nor %s; the program requires one", v.name, v.unless))
			} else {
				errs = append(errs, fmt.Errorf("does not set %s, which the program requires", v.name))
			}
		}
	}
	return errs
}

func TestParseEnvironment(t *testing.T) {
	help, err := os.ReadFile("testdata/help.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseEnvironment(string(help))
	if err != nil {
		t.Fatal(err)
	}
	want := []variable{
		{name: "SHOP_DISCOVERY"},
		{name: "CONSUL_HTTP_ADDR", required: true, unless: "SHOP_DISCOVERY"},
		{name: "DATABASE_URL", required: true},
		{name: "SHOP_USERS_SIGNING_KEY_FILE", required: true, unless: "SHOP_USERS_SIGNING_KEY"},
		{name: "SHOP_USERS_SIGNING_KEY"},
		{name: "TAILOR_HTTP_ADDR"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseEnvironment(testdata/help.txt) = %+v; want %+v", got, want)
	}

	for name, help := range map[string]string{
		"no heading":    "Usage of x:\n  -http-addr string\n",
		"no variables":  "Environment:\n",
		"unknown line":  "Environment:\n  DATABASE_URL (needed)\n    \tthe database\n",
		"usage first":   "Environment:\n    \tthe database\n",
		"lower-case":    "Environment:\n  database_url\n",
		"trailing text": "Environment:\n  DATABASE_URL (required) always\n",
	} {
		t.Run(name, func(t *testing.T) {
			if vars, err := parseEnvironment(help); err == nil {
				t.Errorf("parseEnvironment(%q) = %+v; want an error", help, vars)
			}
		})
	}
}

func TestCheckEnvironment(t *testing.T) {
	reads := []variable{
		{name: "SHOP_DISCOVERY"},
		{name: "CONSUL_HTTP_ADDR", required: true, unless: "SHOP_DISCOVERY"},
		{name: "DATABASE_URL", required: true},
		{name: "TAILOR_HTTP_ADDR"},
	}
	for _, c := range []struct {
		name string
		set  []string
		errs int
	}{
		{"all there", []string{"SHOP_DISCOVERY", "DATABASE_URL", "TAILOR_HTTP_ADDR"}, 0},
		{"stand-in unset", []string{"DATABASE_URL"}, 1},
		{"required unset", []string{"SHOP_DISCOVERY"}, 1},
		{"unknown set", []string{"SHOP_DISCOVERY", "DATABASE_URL", "DATABASE_URI"}, 1},
		{"nothing", nil, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if errs := checkEnvironment(reads, c.set); len(errs) != c.errs {
				t.Errorf("checkEnvironment(%v) = %v; want %d errors", c.set, errs, c.errs)
			}
		})
	}
}

// TestEnvironment builds each service's program and checks every
// Deployment's environment against what its -help lists.
func TestEnvironment(t *testing.T) {
	var missing []string
	for _, svc := range services {
		if _, err := os.Stat(filepath.Join("..", "examples", "shop", "cmd", svc)); err != nil {
			missing = append(missing, "examples/shop/cmd/"+svc)
		}
	}
	if len(missing) > 0 {
		t.Skipf("the services' programs are missing (%s): the environment check builds them and reads their -help", strings.Join(missing, ", "))
	}
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, svc := range services {
		args = append(args, "./examples/shop/cmd/"+svc)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	reads := map[string][]variable{}
	for _, svc := range services {
		// An empty environment: -help must not depend on one.
		cmd := exec.CommandContext(ctx, filepath.Join(bin, svc), "-help")
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s -help: %v\n%s", svc, err, out)
		}
		if reads[svc], err = parseEnvironment(string(out)); err != nil {
			t.Fatalf("%s -help: %v\n%s", svc, err, out)
		}
	}
	for _, overlay := range overlays {
		objs := build(t, overlay)
		for _, svc := range services {
			_, c := serviceContainer(t, objs, svc)
			if len(c.EnvFrom) > 0 {
				t.Errorf("%s: container %s uses envFrom; name each variable in env, so this check sees it", overlay, svc)
			}
			var set []string
			for _, e := range c.Env {
				set = append(set, e.Name)
			}
			for _, err := range checkEnvironment(reads[svc], set) {
				t.Errorf("%s: Deployment %s %v (its -help lists the variables it reads)", overlay, svc, err)
			}
		}
	}
}
