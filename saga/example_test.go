package saga_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/saga"
	"github.com/tailorkit/tailor/sqlite"
)

// Order is the data an orders service keeps with its saga.
type Order struct {
	ID      string `json:"id"`
	Amount  int    `json:"amount"`
	Payment string `json:"payment,omitempty"`
}

// An orders service reserves stock, charges and confirms. The charge is
// declined, so the saga compensates: it calls the charge's compensation
// (a refund of nothing) and releases the stock, in reverse order. Each
// call carries an idempotency key for the callee to dedupe on.
func Example() {
	dir, _ := os.MkdirTemp("", "saga-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(dir, "orders.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if err := saga.Migrate(ctx, db, 0); err != nil {
		panic(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE orders (id TEXT PRIMARY KEY, amount INTEGER NOT NULL)`); err != nil {
		panic(err)
	}

	orch, err := saga.New(db)
	if err != nil {
		panic(err)
	}
	call := func(what string) func(ctx context.Context, key string, o *Order) error {
		return func(ctx context.Context, key string, o *Order) error {
			fmt.Println(what, key)
			return nil
		}
	}
	placeOrder, err := saga.Define(orch, "order",
		saga.Step[Order]{Name: "reserve", Action: call("reserve stock"), Compensate: call("release stock")},
		saga.Step[Order]{
			Name: "charge",
			Action: func(ctx context.Context, key string, o *Order) error {
				fmt.Println("charge", key)
				return fault.New(fault.FailedPrecondition, "card declined")
			},
			Compensate: call("refund"),
		},
		saga.Step[Order]{Name: "confirm", Action: call("confirm")},
	)
	if err != nil {
		panic(err)
	}

	// The order and its saga commit together.
	order := Order{ID: "o-1", Amount: 4200}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		panic(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, amount) VALUES ($1, $2)`, order.ID, order.Amount); err != nil {
		panic(err)
	}
	if err := placeOrder.Start(ctx, tx, order.ID, order); err != nil {
		panic(err)
	}
	if err := tx.Commit(); err != nil {
		panic(err)
	}

	st, err := orch.Run(ctx, order.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, "after", st.FailedStep+":", st.Reason)
	history, _ := orch.History(ctx, order.ID)
	for _, e := range history {
		fmt.Println(strings.TrimSpace(fmt.Sprint(e.Seq, " ", e.Kind, " ", e.Step)))
	}
	// Output:
	// reserve stock o-1/reserve
	// charge o-1/charge
	// refund o-1/charge/compensate
	// release stock o-1/reserve/compensate
	// compensated after charge: failed precondition: card declined
	// 1 started
	// 2 step_done reserve
	// 3 step_failed charge
	// 4 step_compensated charge
	// 5 step_compensated reserve
}
