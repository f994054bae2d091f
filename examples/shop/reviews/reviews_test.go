package reviews_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailorkit/tailor/examples/shop/orders"
	"github.com/tailorkit/tailor/examples/shop/reviews"
	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/internal/testenv"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/sqlite"
)

// newService returns the reviews over a fresh SQLite file, and its
// database.
func newService(t testing.TB, opts ...reviews.Option) (*reviews.Service, *sql.DB) {
	t.Helper()
	db, err := sqlite.Open(t.TempDir() + "/reviews.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return migrated(t, db, opts...), db
}

// migrated migrates db and returns the reviews over it.
func migrated(t testing.TB, db *sql.DB, opts ...reviews.Option) *reviews.Service {
	t.Helper()
	if err := reviews.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s, err := reviews.NewService(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// databases lists the two databases the reviews run on, each as a
// function that makes a fresh one.
func databases() []struct {
	name  string
	fresh func(t testing.TB) *sql.DB
} {
	return []struct {
		name  string
		fresh func(t testing.TB) *sql.DB
	}{
		{"sqlite", func(t testing.TB) *sql.DB {
			db, err := sqlite.Open(t.TempDir() + "/reviews.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(t testing.TB) *sql.DB {
			db := testenv.Postgres(t, "reviews")()
			t.Cleanup(func() { db.Close() })
			return db
		}},
	}
}

// confirmed is an order.confirmed event of user's order of products.
func confirmed(t testing.TB, order, user string, products ...string) messaging.Event {
	t.Helper()
	o := orders.OrderConfirmed{OrderID: order, UserID: user, Currency: "EUR", ConfirmedAt: time.Now().UTC()}
	for _, p := range products {
		o.Lines = append(o.Lines, orders.Line{ProductID: p, Quantity: 1, UnitPrice: 100})
	}
	e, err := orders.OrderConfirmedEvent().New(order, o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// buy applies the order.confirmed event of user's order of products, as
// the consumer would.
func buy(t testing.TB, s *reviews.Service, user string, products ...string) {
	t.Helper()
	if err := s.Handler()(context.Background(), confirmed(t, "order-"+user+"-"+strings.Join(products, "-"), user, products...)); err != nil {
		t.Fatal(err)
	}
}

// wantKind fails unless err is a *fault.Error of kind with HTTP status
// status whose detail contains every one of words.
func wantKind(t testing.TB, err error, kind fault.Kind, status int, words ...string) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v (%d)", kind, status)
	}
	fe := fault.As(err)
	if fe.Kind != kind || fe.HTTPStatus() != status {
		t.Fatalf("got %v (%d): %v; want %v (%d)", fe.Kind, fe.HTTPStatus(), err, kind, status)
	}
	for _, w := range words {
		if !strings.Contains(fe.Detail, w) {
			t.Errorf("detail %q does not say %q", fe.Detail, w)
		}
	}
	return fe
}

// Only a buyer reviews, once; the list is newest first, page by page,
// and the summary counts every review; on both databases.
func TestReviews(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			testReviews(t, migrated(t, d.fresh(t), reviews.WithClock(func() time.Time { return at })))
		})
	}
}

// at is the time the reviews of TestReviews are written, in a zone
// other than UTC and finer than a microsecond.
var at = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

func testReviews(t *testing.T, s *reviews.Service) {
	wantAt := at.UTC().Truncate(time.Microsecond)
	ctx := context.Background()
	review := func(user string, rating int) reviews.CreateReviewRequest {
		return reviews.CreateReviewRequest{ProductID: "mug", UserID: user, Rating: rating, Title: "Review by " + user, Body: "Line one.\nLine two."}
	}

	_, err := s.CreateReview(ctx, review("ann", 5))
	wantKind(t, err, fault.PermissionDenied, 403, "only a customer who bought this product may review it", "may take a moment")

	buy(t, s, "ann", "mug", "hat")
	buy(t, s, "ann", "mug") // a second order of the mug changes nothing
	got, err := s.CreateReview(ctx, review("ann", 5))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.ProductID != "mug" || got.UserID != "ann" || got.Rating != 5 || got.Title != "Review by ann" || got.Body != "Line one.\nLine two." || !got.CreatedAt.Equal(wantAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("created %+v", got)
	}
	_, err = s.CreateReview(ctx, review("ann", 1))
	wantKind(t, err, fault.Conflict, 409, "reviewed this product already")
	// Ann bought the hat too, but not for Bob.
	if _, err := s.CreateReview(ctx, reviews.CreateReviewRequest{ProductID: "hat", UserID: "ann", Rating: 2, Title: "Hat", Body: "Small."}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateReview(ctx, review("bob", 4))
	wantKind(t, err, fault.PermissionDenied, 403)

	users := []string{"bob", "cid", "dee", "eve"}
	for i, u := range users {
		buy(t, s, u, "mug")
		if _, err := s.CreateReview(ctx, review(u, 1+i%5)); err != nil {
			t.Fatal(err)
		}
	}
	// Ratings 5, 1, 2, 3, 4: 15 stars over 5 reviews.
	sum, err := s.Summary(ctx, reviews.SummaryRequest{ProductID: "mug"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (reviews.Summary{Count: 5, Average: 3, Ratings: [5]int64{1, 1, 1, 1, 1}}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}

	var authors []string
	cursor := ""
	for page := 0; ; page++ {
		resp, err := s.ListReviews(ctx, reviews.ListReviewsRequest{ProductID: "mug", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Summary != sum {
			t.Errorf("page %d summary %+v, want %+v", page, resp.Summary, sum)
		}
		for _, r := range resp.Items {
			authors = append(authors, r.UserID)
			if !r.CreatedAt.Equal(wantAt) || r.CreatedAt.Location() != time.UTC {
				t.Errorf("%s's review was written at %v, want %v in UTC", r.UserID, r.CreatedAt, wantAt)
			}
		}
		if resp.NextCursor == "" {
			break
		}
		cursor = resp.NextCursor
	}
	if got := strings.Join(authors, " "); got != "eve dee cid bob ann" {
		t.Errorf("authors newest first: %s, want eve dee cid bob ann", got)
	}

	empty, err := s.ListReviews(ctx, reviews.ListReviewsRequest{ProductID: "scarf"})
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Items) != 0 || empty.NextCursor != "" || empty.Summary != (reviews.Summary{}) {
		t.Errorf("a product without reviews: %+v", empty)
	}
	_, err = s.ListReviews(ctx, reviews.ListReviewsRequest{ProductID: "mug", Cursor: "bm9wZQ"})
	if fe := wantKind(t, err, fault.InvalidArgument, 422); len(fe.Violations) != 1 || fe.Violations[0].Field != "cursor" {
		t.Errorf("violations %+v, want one on cursor", fe.Violations)
	}
}

// Many attempts at once of the same user's review of one product, through
// two instances of the service on one database: exactly one is stored,
// the others are 409.
func TestConcurrentReviewsStoreOne(t *testing.T) {
	for _, d := range databases() {
		t.Run(d.name, func(t *testing.T) {
			db := d.fresh(t)
			s1 := migrated(t, db)
			s2, err := reviews.NewService(db)
			if err != nil {
				t.Fatal(err)
			}
			buy(t, s1, "ann", "mug")
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				s := []*reviews.Service{s1, s2}[i%2]
				wg.Go(func() {
					_, err := s.CreateReview(context.Background(), reviews.CreateReviewRequest{ProductID: "mug", UserID: "ann", Rating: 4, Title: fmt.Sprint("Try ", i), Body: "Good."})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			stored := 0
			for err := range errs {
				if err == nil {
					stored++
				} else if fault.KindOf(err) != fault.Conflict {
					t.Errorf("got %v, want a conflict", err)
				}
			}
			if sum, err := s1.Summary(context.Background(), reviews.SummaryRequest{ProductID: "mug"}); stored != 1 || err != nil || sum.Count != 1 {
				t.Errorf("%d stored, summary %+v (%v); want exactly one", stored, sum, err)
			}
		})
	}
}

// The average is the mean rounded half up to one decimal.
func TestSummaryAverage(t *testing.T) {
	for _, tt := range []struct {
		ratings []int
		want    float64
	}{
		{[]int{5}, 5},
		{[]int{5, 4}, 4.5},
		{[]int{5, 4, 4}, 4.3}, // 4.333…
		{[]int{5, 5, 4}, 4.7}, // 4.666…
		{[]int{1, 2, 2}, 1.7}, // 1.666…
		{[]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, 1.1}, // 1.05 rounds up
	} {
		t.Run(fmt.Sprint(tt.ratings), func(t *testing.T) {
			s, _ := newService(t)
			for i, r := range tt.ratings {
				u := fmt.Sprint("user-", i)
				buy(t, s, u, "mug")
				if _, err := s.CreateReview(context.Background(), reviews.CreateReviewRequest{ProductID: "mug", UserID: u, Rating: r, Title: "T", Body: "B"}); err != nil {
					t.Fatal(err)
				}
			}
			sum, err := s.Summary(context.Background(), reviews.SummaryRequest{ProductID: "mug"})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Count != int64(len(tt.ratings)) || sum.Average != tt.want {
				t.Errorf("summary %+v, want count %d, average %v", sum, len(tt.ratings), tt.want)
			}
		})
	}
}

// Every rule of a review is checked at once, and a banned word is named
// by its field, never echoed.
func TestModeration(t *testing.T) {
	s, _ := newService(t)
	buy(t, s, "ann", "mug")
	long := func(n int) string { return strings.Repeat("é", n) }
	for _, tt := range []struct {
		name   string
		req    reviews.CreateReviewRequest
		fields string // the violations' fields
		says   string // what a violation says
	}{
		{"no rating", reviews.CreateReviewRequest{Title: "T", Body: "B"}, "rating", "is required"},
		{"rating 6", reviews.CreateReviewRequest{Rating: 6, Title: "T", Body: "B"}, "rating", "from 1 to 5, got 6"},
		{"rating -1", reviews.CreateReviewRequest{Rating: -1, Title: "T", Body: "B"}, "rating", "from 1 to 5"},
		{"empty", reviews.CreateReviewRequest{Rating: 3, Title: " ", Body: ""}, "title body", "is required"},
		{"too long", reviews.CreateReviewRequest{Rating: 3, Title: long(121), Body: long(4001)}, "title body", "at most"},
		{"two-line title", reviews.CreateReviewRequest{Rating: 3, Title: "One\ntwo", Body: "B"}, "title", "one line"},
		{"control in body", reviews.CreateReviewRequest{Rating: 3, Title: "T", Body: "a\x00b"}, "body", "control characters"},
		{"tab in body", reviews.CreateReviewRequest{Rating: 3, Title: "T", Body: "a\tb"}, "body", "control characters"},
		{"banned in title", reviews.CreateReviewRequest{Rating: 1, Title: "Utter SHIT", Body: "B"}, "title", reviews.BannedWordDescription},
		{"banned in body", reviews.CreateReviewRequest{Rating: 1, Title: "T", Body: "It broke.\nWhat a load of bollocks!"}, "body", reviews.BannedWordDescription},
		{"everything", reviews.CreateReviewRequest{Rating: 9, Title: "crap", Body: "Crap."}, "rating title body", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.ProductID, req.UserID = "mug", "ann"
			_, err := s.CreateReview(context.Background(), req)
			fe := wantKind(t, err, fault.InvalidArgument, 422)
			var fields []string
			for _, v := range fe.Violations {
				fields = append(fields, v.Field)
				if !strings.Contains(v.Description, tt.says) {
					t.Errorf("%s: %q does not say %q", v.Field, v.Description, tt.says)
				}
				for _, w := range []string{"shit", "bollocks", "crap"} {
					if strings.Contains(strings.ToLower(v.Description+fe.Detail), w) {
						t.Errorf("the answer repeats the banned word: %+v", fe)
					}
				}
			}
			if got := strings.Join(fields, " "); got != tt.fields {
				t.Errorf("violations on %q, want %q", got, tt.fields)
			}
		})
	}
	// Whole words only, and line breaks are allowed in the body.
	r, err := s.CreateReview(context.Background(), reviews.CreateReviewRequest{ProductID: "mug", UserID: "ann", Rating: 4, Title: long(120), Body: "Scrapped my old mug for this shitake-brown one.\r\nGlad I did."})
	if err != nil {
		t.Fatalf("a review without banned words: %v", err)
	}
	if r.Rating != 4 {
		t.Errorf("stored %+v", r)
	}
}

// An order.confirmed event that names no user, or a line without a
// product, cannot be applied however often it comes: the handler says so
// with a permanent error, and nothing is stored.
func TestHandlerRefusesBadEvents(t *testing.T) {
	s, db := newService(t)
	for _, e := range []messaging.Event{
		confirmed(t, "order-1", "", "mug"),
		confirmed(t, "order-2", "ann", "mug", ""),
		confirmed(t, "order-3", strings.Repeat("u", reviews.MaxIDLen+1), "mug"),
	} {
		if err := s.Handler()(context.Background(), e); !messaging.IsPermanent(err) {
			t.Errorf("event %s: handler = %v, want a permanent error", e.Aggregate, err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM purchases`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d purchases stored (%v), want none", n, err)
	}
}
