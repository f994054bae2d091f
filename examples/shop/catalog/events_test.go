package catalog_test

import (
	"context"
	"testing"

	"github.com/tailorkit/tailor/examples/shop/catalog"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/sqlite"
)

// Creating a product writes its product.created event in the same
// transaction; a rejected product writes none.
func TestCreateProductWritesItsEvent(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(t.TempDir() + "/catalog.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := catalog.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(db)
	p, err := svc.CreateProduct(ctx, catalog.CreateProductRequest{Name: "Mug", Price: catalog.Money{Amount: 1299, Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProduct(ctx, catalog.CreateProductRequest{Name: "", Price: catalog.Money{Currency: "EUR"}}); err == nil {
		t.Fatal("CreateProduct accepted a product with no name")
	}
	rows, err := db.Query(`SELECT subject, body FROM tailor_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var events []messaging.Event
	for rows.Next() {
		var subject string
		var body []byte
		if err := rows.Scan(&subject, &body); err != nil {
			t.Fatal(err)
		}
		if subject != catalog.SubjectProductCreated {
			t.Errorf("event subject %q, want %q", subject, catalog.SubjectProductCreated)
		}
		e, err := messaging.DecodeEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if len(events) != 1 {
		t.Fatalf("got %d events in the outbox, want 1", len(events))
	}
	got, err := catalog.ProductCreatedEvent().Decode(events[0])
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.ProductCreated{ID: p.ID, Name: p.Name, Price: p.Price, CreatedAt: p.CreatedAt}
	if got != want || events[0].Aggregate != p.ID {
		t.Errorf("got event %+v about %s, want %+v about %s", got, events[0].Aggregate, want, p.ID)
	}
}
