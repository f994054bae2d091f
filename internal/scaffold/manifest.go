package scaffold

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// ManifestFile is the name of the manifest in a service's root folder.
const ManifestFile = "tailor.json"

// Manifest describes a generated service: it is the one input of every
// generated file. It is stored as ManifestFile, indented, with its keys
// in a fixed order and its lists sorted, so equal manifests are equal
// bytes.
type Manifest struct {
	// DB is the database the service uses: "sqlite" or "postgres".
	DB string `json:"db"`
	// Events is true for a service that publishes its example resource's
	// created events through a transactional outbox and consumes them
	// through an inbox (tailor new --events).
	Events bool `json:"events,omitempty"`
	// Example is the resource tailor new made; with Events, it is the one
	// whose creation is an event.
	Example string `json:"example,omitempty"`
	// Generated maps each generated file, by its slash-separated path in
	// the service, to the SHA-256 (hex) of its content as tailor last
	// wrote it, so that [Doctor] tells a hand-edited file from a stale
	// one.
	Generated map[string]string `json:"generated"`
	// GRPC is true for a service whose resources are served over gRPC
	// too (tailor new --grpc), each from its .proto under proto/.
	GRPC bool `json:"grpc,omitempty"`
	// Module is the Go module path.
	Module string `json:"module"`
	// Name is the service's name: a DNS label.
	Name string `json:"name"`
	// Resources are the service's resources, sorted by name.
	Resources []Resource `json:"resources"`
}

// Resource is one resource of a service: a Go package under internal/,
// a table, and routes under /v1/Plural.
type Resource struct {
	Endpoints []Endpoint `json:"endpoints"` // sorted by name
	Name      string     `json:"name"`      // singular: the package name, "widget"
	Plural    string     `json:"plural"`    // the path segment and table, "widgets"
}

// Endpoint is one route of a resource, served by the method of the
// resource's Service named by Name in upper camel case.
type Endpoint struct {
	// Auth is who may call the endpoint: "" anyone, "user" any caller
	// with a verified token, "role=a,b" a caller with one of those roles.
	Auth    string `json:"auth,omitempty"`
	Method  string `json:"method"`
	Name    string `json:"name"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// resource returns the resource called name, or nil.
func (m *Manifest) resource(name string) *Resource {
	for i := range m.Resources {
		if m.Resources[i].Name == name {
			return &m.Resources[i]
		}
	}
	return nil
}

// normalize sorts m's lists, so that a manifest's bytes depend only on
// its content.
func (m *Manifest) normalize() {
	if m.Generated == nil {
		m.Generated = map[string]string{}
	}
	sort.Slice(m.Resources, func(i, j int) bool { return m.Resources[i].Name < m.Resources[j].Name })
	for _, r := range m.Resources {
		sort.Slice(r.Endpoints, func(i, j int) bool { return r.Endpoints[i].Name < r.Endpoints[j].Name })
	}
}

// marshal returns m as it is stored.
func (m *Manifest) marshal() ([]byte, error) {
	m.normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LoadManifest reads the manifest of the service in dir and checks it.
func LoadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no %s here, so this is not a service made by tailor; run the command in the service's folder, give it with --dir, or make one with tailor new", dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w; fix the file by hand or restore it from version control", path, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.normalize()
	return &m, nil
}

// check validates every name in m, as the commands that write them do.
func (m *Manifest) check() error {
	if err := checkServiceName(m.Name); err != nil {
		return err
	}
	if err := checkModule(m.Module); err != nil {
		return err
	}
	if err := checkDB(m.DB); err != nil {
		return err
	}
	if m.Events && m.resource(m.Example) == nil {
		return fmt.Errorf("events are on, but example names no resource (%q); set it to the resource whose creation is an event", m.Example)
	}
	seen := map[string]bool{}
	for _, r := range m.Resources {
		if err := checkResourceName(r.Name); err != nil {
			return err
		}
		if err := checkPlural(r.Plural); err != nil {
			return err
		}
		if seen[r.Name] || seen["/"+r.Plural] {
			return fmt.Errorf("resource %q is listed twice", r.Name)
		}
		seen[r.Name], seen["/"+r.Plural] = true, true
		names := map[string]bool{}
		for _, e := range r.Endpoints {
			if err := checkEndpoint(r, e); err != nil {
				return err
			}
			if names[e.Name] {
				return fmt.Errorf("resource %q lists endpoint %q twice", r.Name, e.Name)
			}
			names[e.Name] = true
		}
	}
	return checkRoutes(m.Resources)
}
