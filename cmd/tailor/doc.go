// Command tailor scaffolds a service built on github.com/tailorkit/tailor
// and grows it, safe to run again at any time.
//
//	tailor new NAME [--module PATH] [--dir DIR] [--db sqlite|postgres] [--grpc] [--events] [--resource NAME] [--tailor-replace DIR] [--no-tidy]
//	tailor add resource NAME [--plural PLURAL]
//	tailor add endpoint RESOURCE NAME [--method GET|POST|PUT|PATCH|DELETE] [--path PATH] [--auth user|role=NAME]
//	tailor generate [--force]
//	tailor doctor
//
// Every command answers --help with its flags and an example. A mistake
// in the command line exits 2, any other failure 1.
//
// # What tailor new writes
//
// A service in the shape of the shop's services, in four layers: the
// transport (routes, decoding, the OpenAPI description) calls the
// business logic, a Service whose methods are typed endpoints; the
// Service keeps its data through a Repository interface that its own
// package declares; a Store implements it over SQL (SQLite, or
// PostgreSQL with --db postgres). For `tailor new widgets`:
//
//	tailor.json                                  the manifest (tailor's)
//	go.mod, main.go, README.md                   yours
//	Dockerfile, .gitignore                       yours
//	deploy/base/, deploy/overlays/{dev,prod}/    yours: Kubernetes, in the shop's style
//	internal/app/app.gen.go                      generated: every resource wired, /openapi.json
//	internal/database/database.go                yours: open and migrate the database
//	internal/database/databasetest/              yours: a database per test
//	internal/database/migrations/0001_create_widgets.sql   yours
//	internal/widget/widget.go                    yours: Widget, Service, Repository
//	internal/widget/store.go                     yours: the Repository over SQL
//	internal/widget/widget_test.go               yours: unit tests with a fake Repository
//	internal/widget/http_test.go                 yours: HTTP tests with servicetest
//	internal/widget/http.gen.go                  generated: routes and their OpenAPI operations
//
// main.go runs the service on package service's lifecycle; health,
// metrics, tracing, logs, token verification (AUTH_JWKS_URL) and
// registration in Consul (CONSUL_HTTP_ADDR) are set by configuration
// alone. Its -help exits 0, a mistake in its flags 2.
//
// The Kubernetes manifests follow the shop's deploy/: a kustomize base
// (a Deployment that names each variable it reads from a generated
// ConfigMap and Secret, probes /healthz and /readyz on the port http, runs
// as non-root on a read-only root with requests and limits, and has a
// grace period longer than its drain; a headless Service; a
// PodDisruptionBudget; on PostgreSQL a HorizontalPodAutoscaler, on SQLite
// one pod) and overlays for a development cluster and for production.
//
// # gRPC and events
//
// tailor new --grpc serves every resource over gRPC too:
//
//	proto/widgets/v1/widget.proto                yours: the WidgetService
//	proto/widgets/v1/widget.pb.go, widget_grpc.pb.go   made by protoc
//	proto/widgets/v1/proto.gen.go                generated: the go:generate directives
//	internal/widget/grpc.gen.go                  generated: RegisterGRPC on transport/grpc, a GRPCClient
//	internal/widget/grpc_test.go                 yours: gRPC tests over loopback
//
// app.gen.go's RegisterGRPC serves them all on the service's gRPC server,
// which listens on -grpc-addr (TAILOR_GRPC_ADDR, default :9090) with the
// grpc.health.v1 service. The Go code of the .proto files is committed
// with the service; tailor new makes it by running go generate
// ./proto/... after go mod tidy, as the user does after editing a
// .proto: the directives build protoc-gen-go and protoc-gen-go-grpc, at
// the versions the tool lines of go.mod pin, into .tools/bin, and run
// protoc, which must be installed (tailor new says so before writing
// anything when it is not; with --no-tidy it writes everything else and
// prints the command). tailor add resource gives a new resource its own
// .proto, service and grpc.gen.go, and runs the command again; tailor add
// endpoint adds HTTP routes only, as the RPC is the user's to declare.
//
// tailor new --events makes the example resource's creation an event:
//
//	internal/widget/events.go                    yours: the stream, the subject, the widget.created type
//	internal/stats/stats.go, stats_test.go       yours: the consumer, GET /v1/stats
//	internal/database/migrations/0002_create_stats.sql   yours
//
// The Store writes the widget and its widget.created event in one
// transaction (messaging/outbox); main.go connects to NATS (NATS_URL,
// default nats://127.0.0.1:4222), ensures the stream, named after the
// service (WIDGETS, subjects widgets.>), and runs the outbox relay, the
// durable consumer of package stats, which applies each event once
// through an inbox (messaging/inbox) in the same database, and the
// inbox's pruner; /readyz checks the connection. Resources added later
// publish nothing until their Store does as the example's does.
//
// # Generated files and the user's files
//
// The manifest, tailor.json, records the service's name, module and
// database, whether it has gRPC and events, its resources and their
// endpoints (method, path, name, summary), and the SHA-256 of each
// generated file as tailor wrote it.
// It is the one input of the generated files: they are a pure function
// of it and of the templates of this version of tailor, rendered with
// text/template from templates embedded in the binary, gofmt'd, with
// resources, endpoints and imports in a fixed order, so generating twice
// gives the same bytes. Each starts with the line
//
//	// Code generated by tailor. DO NOT EDIT.
//
// Every other file is the user's. tailor writes a file of the user's
// once, when it is first needed, and never again: before a command
// writes anything it checks that none of the user's files it would
// create exists, and refuses, naming the file, if one does; --force does
// not change that. A generated file is rewritten only when it is what
// tailor last wrote (its hash is the one in the manifest); one edited by
// hand is refused, naming it, unless --force. So:
//
//   - tailor add resource writes the resource's package of the user's
//     (type, Service, Repository, Store, tests) and the next numbered
//     migration, and regenerates app.gen.go, which constructs every
//     resource's Service through the New function in its package; main.go
//     does not change;
//   - tailor add endpoint writes the new method of the Service in a new
//     file of the user's, with its request and response types and a
//     test, and regenerates the resource's http.gen.go. The method
//     answers an empty JSON object until the user writes its logic, so
//     the route works at once. Request fields come from the path's
//     wildcards; POST, PUT and PATCH read a JSON body; --auth guards the
//     route with auth.RequireAuthenticated or auth.RequireRole and marks
//     it with bearer security in the OpenAPI document;
//   - tailor doctor compares each generated file on disk with the hash in
//     the manifest (different: hand-edited) and with what this tailor
//     makes from the manifest (different: stale), and says what to do;
//     tailor generate rewrites them.
//
// Names are checked before anything is written, with errors that say
// what to type instead: the service's name is a DNS label (it names the
// binary, the image and the Kubernetes objects); the module path is
// checked by golang.org/x/mod/module; a resource is one lower-case word,
// not a Go keyword or predeclared name nor a name the generated code
// imports; an endpoint is a Go identifier that names no file already
// there, no test file and no file built for one platform only
// (runLinux would be run_linux.go); and no two routes may collide, as
// http.ServeMux would refuse them.
//
// # go.mod
//
// go.mod requires github.com/tailorkit/tailor at the version of the
// tailor binary, from its build information. A binary built from a
// source tree has no such version: tailor new then asks for
// --tailor-replace DIR, a tailor checkout that go.mod replaces the module
// with (the tests use this). After writing, tailor new runs go mod tidy
// in the new folder, with the -mod setting of GOFLAGS left out; --no-tidy
// skips it.
package main
