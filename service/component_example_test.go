package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/tailorkit/tailor/service"
)

// registration is a component that also wants a word when the service
// turns ready and when it stops being ready, as a registry registration
// does.
type registration struct{}

func (registration) Start(context.Context) error    { fmt.Println("start registration"); return nil }
func (registration) Stop(context.Context) error     { fmt.Println("stop registration"); return nil }
func (registration) Announce(context.Context) error { fmt.Println("announce: register"); return nil }
func (registration) Drain(context.Context) error    { fmt.Println("drain: deregister"); return nil }

// Components start in the order added and stop in reverse. One that is
// also an Announcer and a Drainer registers once the service is ready and
// deregisters first thing on shutdown, while the service still answers.
func ExampleService_Add() {
	svc, err := service.New(
		service.Config{Name: "orders", HTTPAddr: "127.0.0.1:0"},
		service.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		service.WithoutSignals(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	svc.Add(
		service.Hook{
			Name:    "database",
			OnStart: func(context.Context) error { fmt.Println("start database"); return nil },
			OnStop:  func(context.Context) error { fmt.Println("stop database"); return nil },
		},
		registration{},
	)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Ready():
	case err := <-done:
		fmt.Println("Run ended before the service was ready:", err)
		return
	}
	cancel() // as SIGTERM would
	fmt.Println("Run:", <-done)
	// Output:
	// start database
	// start registration
	// announce: register
	// drain: deregister
	// stop registration
	// stop database
	// Run: <nil>
}
