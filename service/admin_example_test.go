package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tailorkit/tailor/service"
)

// A service with an admin listener on loopback: the dashboard's API and an
// operator's route of its own, apart from the public port. A non-loopback
// AdminAddr needs AdminToken (TAILOR_ADMIN_TOKEN), and then every admin
// request must carry it as a bearer token.
func ExampleService_AdminRouter() {
	svc, err := service.New(
		service.Config{Name: "orders", HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"},
		service.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	svc.AdminRouter().HandleFunc("POST /admin/cache/flush", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "flushed")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Started()

	resp, err := http.Get("http://" + svc.AdminAddr().String() + "/dash/api/breakers")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	resp, err = http.Get("http://" + svc.HTTPAddr().String() + "/dash/api/breakers")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("public port:", resp.StatusCode)

	cancel()
	fmt.Println(<-done)
	// Output:
	// 200 {"version":1,"breakers":[]}
	// public port: 404
	// <nil>
}
