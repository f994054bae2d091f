package messaging_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tailorkit/tailor/messaging"
)

type OrderPlaced struct {
	Order string `json:"order"`
	Total int64  `json:"total"`
}

// A typed event: the producer makes it, the consumer decodes it, and a
// version the consumer does not know is a clear error.
func ExampleType() {
	placed := messaging.Type[OrderPlaced]{Name: "order.placed", Version: 1}
	e, err := placed.New("order-42", OrderPlaced{Order: "order-42", Total: 1999})
	if err != nil {
		panic(err)
	}
	p, err := placed.Decode(e)
	fmt.Println(p.Order, p.Total, err)

	placedV2 := messaging.Type[OrderPlaced]{Name: "order.placed", Version: 2}
	_, err = placedV2.Decode(e)
	fmt.Println(errors.Is(err, messaging.ErrUnknownVersion))
	// Output:
	// order-42 1999 <nil>
	// true
}

// A Mux routes events to typed handlers; event types it does not know are
// skipped.
func ExampleMux() {
	placed := messaging.Type[OrderPlaced]{Name: "order.placed"}
	mux := messaging.Mux{
		"order.placed": placed.Handler(func(ctx context.Context, e messaging.Event, p OrderPlaced) error {
			fmt.Println("placed", p.Order)
			return nil
		}),
	}
	e, _ := placed.New("order-7", OrderPlaced{Order: "order-7"})
	_ = mux.Handle(context.Background(), e)
	other, _ := messaging.Type[OrderPlaced]{Name: "order.audited"}.New("order-7", OrderPlaced{})
	fmt.Println(mux.Handle(context.Background(), other))
	// Output:
	// placed order-7
	// <nil>
}

// RedactURL hides the user information of every URL in a NATS_URL, for
// messages and logs.
func ExampleRedactURL() {
	fmt.Println(messaging.RedactURL("nats://shop:s3cret@n1:4222,nats://t0ken@n2:4222"))
	// Output:
	// nats://redacted@n1:4222,nats://redacted@n2:4222
}
