package reviews

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tailorkit/tailor/fault"
	"github.com/tailorkit/tailor/messaging"
	"github.com/tailorkit/tailor/messaging/inbox"
)

// Limits on input.
const (
	// MaxIDLen is the longest product or user id, in characters.
	MaxIDLen = 128
	// MinRating and MaxRating bound a review's rating, in whole stars.
	MinRating = 1
	MaxRating = 5
	// MaxTitleLen is the longest title, in characters.
	MaxTitleLen = 120
	// MaxBodyLen is the longest body, in characters.
	MaxBodyLen = 4000
	// DefaultPageSize is the page size of a list that asks for none.
	DefaultPageSize = 20
	// MaxPageSize is the largest page a list may ask for.
	MaxPageSize = 100
)

// BannedWordDescription is the violation's description for a title or
// body that contains a banned word. It never names the word.
const BannedWordDescription = "contains a word this shop does not allow; reword it"

// Review is one user's review of one product.
type Review struct {
	ID        string    `json:"id"`
	ProductID string    `json:"product_id"`
	UserID    string    `json:"user_id"`
	Rating    int       `json:"rating" jsonschema:"minimum=1,maximum=5"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Summary sums up a product's reviews.
type Summary struct {
	// Count is how many reviews the product has.
	Count int64 `json:"count"`
	// Average is the mean rating, rounded to one decimal (4.3); absent
	// when Count is 0.
	Average float64 `json:"average,omitempty" jsonschema:"minimum=1,maximum=5"`
	// Ratings counts the reviews of each rating: Ratings[0] those of one
	// star, Ratings[4] those of five.
	Ratings [MaxRating]int64 `json:"ratings"`
}

// average is the mean of the ratings counted in r, rounded half up to
// one decimal, computed in whole tenths so that it is exact; 0 when r
// counts none.
func average(r [MaxRating]int64) (count int64, avg float64) {
	var sum int64
	for i, n := range r {
		count += n
		sum += int64(i+1) * n
	}
	if count == 0 {
		return 0, 0
	}
	tenths := (sum*20 + count) / (2 * count) // round(10*sum/count)
	return count, float64(tenths) / 10
}

// SummaryRequest names the product whose reviews to sum up.
type SummaryRequest struct {
	ProductID string `json:"-" path:"id"`
}

// BindHTTP takes the product id from the path.
func (r *SummaryRequest) BindHTTP(req *http.Request) error {
	r.ProductID = req.PathValue("id")
	return nil
}

// ListReviewsRequest asks for one page of a product's reviews, newest
// first.
type ListReviewsRequest struct {
	ProductID string `json:"-" path:"id"`
	// Limit is the page size: 1 to [MaxPageSize], 0 for
	// [DefaultPageSize].
	Limit int `json:"-" query:"limit" jsonschema:"minimum=1,maximum=100"`
	// Cursor continues from a previous page's NextCursor; empty for the
	// first page.
	Cursor string `json:"-" query:"cursor"`
}

// BindHTTP takes the product id from the path and limit and cursor from
// the query. A limit that is not a whole number, or a parameter given
// twice, cannot be read and is 400; a whole number out of range is 422.
func (r *ListReviewsRequest) BindHTTP(req *http.Request) error {
	r.ProductID = req.PathValue("id")
	q := req.URL.Query()
	for _, name := range [...]string{"limit", "cursor"} {
		if len(q[name]) > 1 {
			return fault.New(fault.InvalidArgument, fmt.Sprintf("query parameter %q is given %d times; give it once", name, len(q[name])))
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		var numErr *strconv.NumError
		switch {
		case errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange):
			return fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d, got %s", MaxPageSize, s)})
		case err != nil:
			return fault.New(fault.InvalidArgument, fmt.Sprintf("query parameter \"limit\" is %q; it must be a whole number from 1 to %d", s, MaxPageSize))
		case n < 1 || n > MaxPageSize:
			return fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d, got %d", MaxPageSize, n)})
		}
		r.Limit = n
	}
	r.Cursor = q.Get("cursor")
	return nil
}

// ListReviewsResponse is one page of a product's reviews, with the
// summary of all of them.
type ListReviewsResponse struct {
	Items      []Review `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
	Summary    Summary  `json:"summary"`
}

// CreateReviewRequest is a review as its author writes it.
type CreateReviewRequest struct {
	ProductID string
	// UserID is the author: over HTTP, the subject of the caller's
	// verified token, never the body.
	UserID string
	Rating int
	Title  string
	Body   string
}

// Validate lists every problem with the request's shape: product and
// user ids of 1 to [MaxIDLen] characters without control characters; a
// rating of [MinRating] to [MaxRating]; a title of 1 to [MaxTitleLen]
// characters of one line, without control characters; a body of 1 to
// [MaxBodyLen] characters without control characters other than line
// breaks. The words in the title and body are judged by
// [Service.CreateReview].
func (r CreateReviewRequest) Validate() error {
	v := checkID(nil, "product_id", r.ProductID)
	v = checkID(v, "user_id", r.UserID)
	switch {
	case r.Rating == 0:
		v = append(v, fault.Violation{Field: "rating", Description: fmt.Sprintf("is required: a whole number of stars from %d to %d", MinRating, MaxRating)})
	case r.Rating < MinRating || r.Rating > MaxRating:
		v = append(v, fault.Violation{Field: "rating", Description: fmt.Sprintf("must be a whole number of stars from %d to %d, got %d", MinRating, MaxRating, r.Rating)})
	}
	v = checkText(v, "title", r.Title, MaxTitleLen, func(c rune) bool { return unicode.IsControl(c) },
		"must be one line of text without control characters (such as a line break or a tab)")
	v = checkText(v, "body", r.Body, MaxBodyLen, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\r' },
		"must not contain control characters other than line breaks")
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// checkText appends to v the problem, if any, with text in field: it must
// have something besides spaces, at most max characters, and no rune
// for which bad is true.
func checkText(v []fault.Violation, field, text string, max int, bad func(rune) bool, badWhy string) []fault.Violation {
	switch {
	case strings.TrimSpace(text) == "":
		return append(v, fault.Violation{Field: field, Description: "is required"})
	case utf8.RuneCountInString(text) > max:
		return append(v, fault.Violation{Field: field, Description: fmt.Sprintf("must be at most %d characters, got %d", max, utf8.RuneCountInString(text))})
	case !utf8.ValidString(text):
		return append(v, fault.Violation{Field: field, Description: "must be UTF-8 text"})
	case strings.ContainsFunc(text, bad):
		return append(v, fault.Violation{Field: field, Description: badWhy})
	}
	return v
}

// checkID appends to v the problem, if any, with the id in field.
func checkID(v []fault.Violation, field, id string) []fault.Violation {
	switch {
	case id == "":
		return append(v, fault.Violation{Field: field, Description: "is required"})
	case utf8.RuneCountInString(id) > MaxIDLen:
		return append(v, fault.Violation{Field: field, Description: fmt.Sprintf("must be at most %d characters", MaxIDLen)})
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		return append(v, fault.Violation{Field: field, Description: "must be printable UTF-8 text without control characters"})
	}
	return v
}

// NotBuyerDetail is the detail of the 403 answered to a review by a user who
// has not bought the product, as far as the reviews service knows.
const NotBuyerDetail = "only a customer who bought this product may review it. " +
	"A purchase is known once its order is confirmed, and one confirmed moments ago may take a moment to be known here; " +
	"try again shortly"

// ConsumerName is the name of the durable consumer of the orders' events,
// and of the inbox that remembers which of them were applied.
const ConsumerName = "shop-reviews"

// Service is the reviews' business logic over its database. It is safe
// for concurrent use. Make one with [NewService]; the zero value is not
// usable.
type Service struct {
	db     *sql.DB
	inbox  *inbox.Inbox
	tel    messaging.Telemetry
	banned map[string]bool
	now    func() time.Time
}

// Option configures a [Service].
type Option func(*Service)

// WithTelemetry makes the service's consumer and inbox report to tel (the
// service's telemetry). Default: nowhere.
func WithTelemetry(tel messaging.Telemetry) Option {
	return func(s *Service) { s.tel = tel }
}

// WithClock makes the service read the time, for a review's created_at,
// from now. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// NewService returns the reviews kept in db, whose schema [Migrate] has
// set up.
func NewService(db *sql.DB, opts ...Option) (*Service, error) {
	s := &Service{db: db, banned: parseWords(bannedWordsText), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	in, err := inbox.New(db, ConsumerName, inbox.WithTelemetry(s.tel))
	if err != nil {
		return nil, err
	}
	s.inbox = in
	return s, nil
}

// CreateReview stores a review of a product by a user who bought it, and
// returns it with its id.
//
// A user the service does not know to have bought the product is refused
// with a PermissionDenied error (403 over HTTP) whose detail is
// [NotBuyerDetail]: purchases are learned from the orders' order.confirmed
// events, so one confirmed moments ago may not be known yet. A request
// that breaks a rule (see [CreateReviewRequest.Validate]), or whose title
// or body contains a banned word, is refused with the violations (422);
// a second review of the same product by the same user is a Conflict
// (409), and the first stays.
func (s *Service) CreateReview(ctx context.Context, req CreateReviewRequest) (Review, error) {
	if v := checkID(checkID(nil, "product_id", req.ProductID), "user_id", req.UserID); len(v) > 0 {
		return Review{}, fault.Invalid(v...)
	}
	var bought int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM purchases WHERE user_id = $1 AND product_id = $2`, req.UserID, req.ProductID).Scan(&bought)
	if errors.Is(err, sql.ErrNoRows) {
		return Review{}, fault.New(fault.PermissionDenied, NotBuyerDetail)
	}
	if err != nil {
		return Review{}, fault.Wrap(err, fault.Internal, "could not read the purchases")
	}
	if err := s.validate(req); err != nil {
		return Review{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Review{}, fault.Wrap(err, fault.Internal, "could not make a review id")
	}
	r := Review{
		ID:        id.String(),
		ProductID: req.ProductID,
		UserID:    req.UserID,
		Rating:    req.Rating,
		Title:     strings.TrimSpace(req.Title),
		Body:      req.Body,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO reviews (id, product_id, user_id, rating, title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (product_id, user_id) DO NOTHING`,
		r.ID, r.ProductID, r.UserID, r.Rating, r.Title, r.Body, r.CreatedAt)
	if err != nil {
		return Review{}, fault.Wrap(err, fault.Internal, "could not store the review")
	}
	if n, err := res.RowsAffected(); err != nil {
		return Review{}, fault.Wrap(err, fault.Internal, "could not store the review")
	} else if n == 0 {
		return Review{}, fault.New(fault.Conflict, "you have reviewed this product already; a customer reviews a product once")
	}
	return r, nil
}

// validate is [CreateReviewRequest.Validate] with the banned words: a
// title or body that contains one is a violation that says so without
// naming the word.
func (s *Service) validate(req CreateReviewRequest) error {
	var v []fault.Violation
	if err := req.Validate(); err != nil {
		v = fault.As(err).Violations
	}
	for _, f := range []struct{ name, text string }{{"title", req.Title}, {"body", req.Body}} {
		if hasBannedWord(s.banned, f.text) && !violates(v, f.name) {
			v = append(v, fault.Violation{Field: f.name, Description: BannedWordDescription})
		}
	}
	if len(v) > 0 {
		return fault.Invalid(v...)
	}
	return nil
}

// violates reports whether v has a violation on field.
func violates(v []fault.Violation, field string) bool {
	for _, x := range v {
		if x.Field == field {
			return true
		}
	}
	return false
}

// ListReviews returns a page of a product's reviews, newest first, with
// the summary of all of them. A product without reviews, or one the
// service has not heard of, has an empty page.
func (s *Service) ListReviews(ctx context.Context, req ListReviewsRequest) (ListReviewsResponse, error) {
	if v := checkID(nil, "product_id", req.ProductID); len(v) > 0 {
		return ListReviewsResponse{}, fault.Invalid(v...)
	}
	limit := req.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return ListReviewsResponse{}, fault.Invalid(fault.Violation{Field: "limit", Description: fmt.Sprintf("must be from 1 to %d", MaxPageSize)})
	}
	query := `SELECT id, product_id, user_id, rating, title, body, created_at FROM reviews WHERE product_id = $1 ORDER BY id DESC LIMIT $2`
	args := []any{req.ProductID, limit + 1}
	if req.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		if err != nil || uuid.Validate(string(b)) != nil {
			return ListReviewsResponse{}, fault.Invalid(fault.Violation{Field: "cursor", Description: "is not a cursor this API gave out; pass next_cursor from the previous page, or none for the first page"})
		}
		// Version 7 UUIDs sort by creation time, so the id is the cursor.
		query = `SELECT id, product_id, user_id, rating, title, body, created_at FROM reviews WHERE product_id = $1 AND id < $3 ORDER BY id DESC LIMIT $2`
		args = append(args, string(b))
	}
	summary, err := s.Summary(ctx, SummaryRequest{ProductID: req.ProductID})
	if err != nil {
		return ListReviewsResponse{}, err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return ListReviewsResponse{}, fault.Wrap(err, fault.Internal, "could not list the reviews")
	}
	defer rows.Close()
	resp := ListReviewsResponse{Items: make([]Review, 0, limit), Summary: summary}
	for rows.Next() {
		var r Review
		if err := rows.Scan(&r.ID, &r.ProductID, &r.UserID, &r.Rating, &r.Title, &r.Body, &r.CreatedAt); err != nil {
			return ListReviewsResponse{}, fault.Wrap(err, fault.Internal, "could not read a review")
		}
		r.CreatedAt = r.CreatedAt.UTC()
		resp.Items = append(resp.Items, r)
	}
	if err := rows.Err(); err != nil {
		return ListReviewsResponse{}, fault.Wrap(err, fault.Internal, "could not list the reviews")
	}
	if len(resp.Items) > limit {
		resp.Items = resp.Items[:limit]
		resp.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(resp.Items[limit-1].ID))
	}
	return resp, nil
}

// Summary sums up a product's reviews: how many, their average rating
// and how many of each rating. A product without reviews, or one the
// service has not heard of, has a count of 0.
func (s *Service) Summary(ctx context.Context, req SummaryRequest) (Summary, error) {
	if v := checkID(nil, "product_id", req.ProductID); len(v) > 0 {
		return Summary{}, fault.Invalid(v...)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT rating, COUNT(*) FROM reviews WHERE product_id = $1 GROUP BY rating`, req.ProductID)
	if err != nil {
		return Summary{}, fault.Wrap(err, fault.Internal, "could not sum up the reviews")
	}
	defer rows.Close()
	var sum Summary
	for rows.Next() {
		var rating int
		var n int64
		if err := rows.Scan(&rating, &n); err != nil {
			return Summary{}, fault.Wrap(err, fault.Internal, "could not sum up the reviews")
		}
		if rating >= MinRating && rating <= MaxRating {
			sum.Ratings[rating-1] = n
		}
	}
	if err := rows.Err(); err != nil {
		return Summary{}, fault.Wrap(err, fault.Internal, "could not sum up the reviews")
	}
	sum.Count, sum.Average = average(sum.Ratings)
	return sum, nil
}
