package scaffold

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

//go:embed templates
var templates embed.FS

// File is one file tailor writes, at Path (slash-separated, relative to
// the service's folder).
type File struct {
	Path string
	Data []byte
	// Generated is true for a file tailor rewrites from the manifest,
	// false for one that is the user's once created.
	Generated bool
}

// serviceView is what the templates see of a service.
type serviceView struct {
	Name, Module, DB string
	Resources        []*resourceView
	GRPC, Events     bool

	Proto        string        // the proto package: "widgets.v1"
	ProtoDir     string        // its folder under proto/: "widgets/v1"
	ProtoGo      string        // the Go package protoc makes of it: "widgetsv1"
	Stream       string        // the JetStream stream of the service's events: "WIDGETS"
	Subjects     string        // its subjects: "widgets.>"
	EventsSource *resourceView // with Events, the resource whose creation is an event
}

// resourceView is what the templates see of a resource.
type resourceView struct {
	Name, Plural string
	Type         string // the Go type: "Widget"
	Types        string // its plural in names: "Widgets"
	Table        string // the SQL table: "widgets"
	Path         string // the collection's path: "/v1/widgets"
	HasAuth      bool   // some endpoint needs a verified caller
	Events       bool   // its creation is an event (tailor new --events)
	ProtoFile    string // its .proto under proto/: "widgets/v1/widget.proto"
	Endpoints    []*endpointView
}

// endpointView is what the templates see of an endpoint.
type endpointView struct {
	Name, Method, Path, Summary string
	Func                        string // the Service's method: "Archive"
	File                        string // its file, without ".go": "archive"
	Request, Response           string
	Decoder                     string // DecodeJSON or DecodeRequest
	Status                      string // http.StatusOK or http.StatusCreated
	OpID                        string
	HasBody                     bool
	Wildcards                   []wildcard
	Guard                       string // the auth middleware, or ""
}

// data is a template's input: the service, and the resource and
// endpoint a template is about, if any.
type data struct {
	M       *serviceView
	R       *resourceView
	E       *endpointView
	Example *resourceView // the resource tailor new made

	Migration     string // the resource's migration file
	TailorVersion string
	TailorReplace string
}

func view(m *Manifest) *serviceView {
	s := &serviceView{
		Name: m.Name, Module: m.Module, DB: m.DB, GRPC: m.GRPC, Events: m.Events,
		Proto:    strings.ReplaceAll(m.Name, "-", "_") + ".v1",
		ProtoDir: m.Name + "/v1",
		ProtoGo:  strings.ReplaceAll(m.Name, "-", "") + "v1",
		Stream:   strings.ToUpper(strings.ReplaceAll(m.Name, "-", "_")),
		Subjects: m.Name + ".>",
	}
	for _, r := range m.Resources {
		v := resourceOf(r)
		v.ProtoFile = s.ProtoDir + "/" + r.Name + ".proto"
		if m.Events && r.Name == m.Example {
			v.Events, s.EventsSource = true, v
		}
		s.Resources = append(s.Resources, v)
	}
	return s
}

func resourceOf(r Resource) *resourceView {
	v := &resourceView{
		Name:   r.Name,
		Plural: r.Plural,
		Type:   upperCamel(r.Name),
		Types:  upperCamel(strings.ReplaceAll(r.Plural, "-", "_")),
		Table:  strings.ReplaceAll(r.Plural, "-", "_"),
		Path:   "/v1/" + r.Plural,
	}
	for _, e := range r.Endpoints {
		ev := endpointOf(v, e)
		v.HasAuth = v.HasAuth || ev.Guard != ""
		v.Endpoints = append(v.Endpoints, ev)
	}
	// Routes in a stable order: by path, then method.
	sort.Slice(v.Endpoints, func(i, j int) bool {
		a, b := v.Endpoints[i], v.Endpoints[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return v
}

func endpointOf(r *resourceView, e Endpoint) *endpointView {
	v := &endpointView{
		Name: e.Name, Method: e.Method, Path: e.Path, Summary: e.Summary,
		Func: upperCamel(e.Name), File: fileName(e.Name),
		Decoder: "DecodeRequest", Status: "http.StatusOK",
	}
	// Type names are unique across resources, as the OpenAPI document
	// names its schemas by them.
	v.Request, v.Response = v.Func+r.Type+"Request", v.Func+r.Type+"Response"
	v.OpID = e.Name + r.Type
	switch e.Name {
	case "create":
		v.Response, v.Status = r.Type, "http.StatusCreated"
	case "get":
		v.Response = r.Type
	case "list":
		v.Request, v.Response, v.OpID = "List"+r.Types+"Request", "List"+r.Types+"Response", "list"+r.Types
	}
	switch e.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		v.Decoder, v.HasBody = "DecodeJSON", true
	}
	v.Wildcards, _ = wildcards(e.Path) // checked with the manifest
	switch rs, _ := roles(e.Auth); {
	case rs == nil:
	case len(rs) == 0:
		v.Guard = "auth.RequireAuthenticated()"
	default:
		quoted := make([]string, len(rs))
		for i, r := range rs {
			quoted[i] = strconv.Quote(r)
		}
		v.Guard = "auth.RequireRole(" + strings.Join(quoted, ", ") + ")"
	}
	return v
}

// render executes the template name with d; Go source is gofmt'd.
func render(name, out string, d data, generated bool) (File, error) {
	t, err := template.New(path.Base(name)).Option("missingkey=error").ParseFS(templates, "templates/"+name)
	if err != nil {
		return File{}, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return File{}, fmt.Errorf("template %s: %w", name, err)
	}
	b := buf.Bytes()
	if strings.HasSuffix(out, ".go") {
		if b, err = format.Source(b); err != nil {
			return File{}, fmt.Errorf("template %s made Go that does not parse (a bug in tailor): %w\n%s", name, err, buf.Bytes())
		}
	}
	return File{Path: out, Data: b, Generated: generated}, nil
}

// renderAll renders each (template, output) pair with d.
func renderAll(d data, generated bool, pairs ...string) ([]File, error) {
	var files []File
	for i := 0; i < len(pairs); i += 2 {
		f, err := render(pairs[i], pairs[i+1], d, generated)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// GeneratedFiles returns every generated file of the service m
// describes: a pure function of m's names, resources and endpoints (not
// of m.Generated), sorted by path.
func GeneratedFiles(m *Manifest) ([]File, error) {
	s := view(m)
	files, err := renderAll(data{M: s}, true, "generated/app.gen.go.tmpl", "internal/app/app.gen.go")
	if err != nil {
		return nil, err
	}
	for _, r := range s.Resources {
		pairs := []string{"generated/http.gen.go.tmpl", "internal/" + r.Name + "/http.gen.go"}
		if s.GRPC {
			pairs = append(pairs, "generated/grpc.gen.go.tmpl", "internal/"+r.Name+"/grpc.gen.go")
		}
		rf, err := renderAll(data{M: s, R: r}, true, pairs...)
		if err != nil {
			return nil, err
		}
		files = append(files, rf...)
	}
	if s.GRPC {
		f, err := render("generated/proto.gen.go.tmpl", "proto/"+s.ProtoDir+"/proto.gen.go", data{M: s}, true)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// serviceFiles returns the user's files of a new service.
func serviceFiles(m *Manifest, example, version, replace string) ([]File, error) {
	s := view(m)
	var ex *resourceView
	for _, r := range s.Resources {
		if r.Name == example {
			ex = r
		}
	}
	d := data{M: s, Example: ex, TailorVersion: version, TailorReplace: replace}
	files, err := renderAll(d, false,
		"service/go.mod.tmpl", "go.mod",
		"service/main.go.tmpl", "main.go",
		"service/README.md.tmpl", "README.md",
		"service/Dockerfile.tmpl", "Dockerfile",
		"service/gitignore.tmpl", ".gitignore",
		"service/kustomization.yaml.tmpl", "deploy/base/kustomization.yaml",
		"service/deployment.yaml.tmpl", "deploy/base/deployment.yaml",
		"service/service.yaml.tmpl", "deploy/base/service.yaml",
		"service/pdb.yaml.tmpl", "deploy/base/pdb.yaml",
		"overlays/dev.yaml.tmpl", "deploy/overlays/dev/kustomization.yaml",
		"overlays/prod.yaml.tmpl", "deploy/overlays/prod/kustomization.yaml",
		"service/database.go.tmpl", "internal/database/database.go",
		"service/databasetest.go.tmpl", "internal/database/databasetest/databasetest.go",
	)
	if err != nil {
		return nil, err
	}
	if s.DB == "postgres" {
		hpa, err := render("service/hpa.yaml.tmpl", "deploy/base/hpa.yaml", d, false)
		if err != nil {
			return nil, err
		}
		files = append(files, hpa)
	}
	if !s.Events {
		return files, nil
	}
	// The consumer of the example's events, and the table it counts in.
	ev, err := renderAll(data{M: s, R: ex, Migration: fmt.Sprintf("%04d_create_stats.sql", statsMigration)}, false,
		"resource/events.go.tmpl", "internal/"+ex.Name+"/events.go",
		"events/stats.go.tmpl", "internal/stats/stats.go",
		"events/stats_test.go.tmpl", "internal/stats/stats_test.go",
		"events/migration.sql.tmpl", fmt.Sprintf("internal/database/migrations/%04d_create_stats.sql", statsMigration),
	)
	return append(files, ev...), err
}

// statsMigration is the version of the migration of package stats's
// table in a service made with events: the one after the example
// resource's.
const statsMigration = 2

// resourceFiles returns the user's files of a new resource, with its
// migration numbered version.
func resourceFiles(m *Manifest, name string, version int) ([]File, error) {
	s := view(m)
	var r *resourceView
	for _, v := range s.Resources {
		if v.Name == name {
			r = v
		}
	}
	migration := fmt.Sprintf("%04d_create_%s.sql", version, r.Table)
	d := data{M: s, R: r, Migration: migration}
	dir := "internal/" + r.Name + "/"
	pairs := []string{
		"resource/resource.go.tmpl", dir + r.Name + ".go",
		"resource/store.go.tmpl", dir + "store.go",
		"resource/resource_test.go.tmpl", dir + r.Name + "_test.go",
		"resource/http_test.go.tmpl", dir + "http_test.go",
		"resource/migration.sql.tmpl", "internal/database/migrations/" + migration,
	}
	if s.GRPC {
		pairs = append(pairs,
			"resource/grpc_test.go.tmpl", dir+"grpc_test.go",
			"resource/resource.proto.tmpl", "proto/"+r.ProtoFile)
	}
	return renderAll(d, false, pairs...)
}

// endpointFiles returns the user's files of a new endpoint: its logic
// and its test.
func endpointFiles(m *Manifest, resource, name string) ([]File, error) {
	s := view(m)
	for _, r := range s.Resources {
		if r.Name != resource {
			continue
		}
		for _, e := range r.Endpoints {
			if e.Name == name {
				dir := "internal/" + r.Name + "/"
				return renderAll(data{M: s, R: r, E: e}, false,
					"endpoint/endpoint.go.tmpl", dir+e.File+".go",
					"endpoint/endpoint_test.go.tmpl", dir+e.File+"_test.go",
				)
			}
		}
	}
	return nil, fmt.Errorf("no endpoint %s of %s in the manifest", name, resource)
}
