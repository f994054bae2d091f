// Package reviews is the shop's product reviews: a rating of one to five
// stars with a title and a body, written by a customer who bought the
// product, one per customer and product.
//
// Start with [Migrate] and [NewService] on the service's own database,
// then [RegisterHTTP], [DescribeHTTP], and [NewConsumer] with
// [Service.Pruner] to learn of purchases from the orders' events:
//
//	GET  /v1/products/{id}/reviews?limit=20&cursor=...  -> 200 {"items": [...], "next_cursor": "...", "summary": {...}}
//	GET  /v1/products/{id}/reviews/summary               -> 200 {"count": 3, "average": 4.3, "ratings": [0, 0, 1, 0, 2]}
//	POST /v1/products/{id}/reviews {"rating": 5, "title": "...", "body": "..."} -> 201 (a signed-in buyer)
//
// The GET routes are public; the list is newest first, a page at a time,
// and carries the summary of all the product's reviews. The average is
// the mean rating rounded half up to one decimal, as a JSON number (4.3),
// and is absent when there are no reviews: a product without reviews,
// or one the service has not heard of, is {"count": 0, "ratings":
// [0, 0, 0, 0, 0]}.
//
// # Who may review
//
// Writing a review needs a verified token (see [RegisterHTTP]); its
// subject is the author. Only a customer who bought the product may
// review it, and the reviews service learns who bought what from the
// orders' order.confirmed events (stream orders.Stream, which main must
// ensure exists before the consumer starts), applied once each through
// an inbox ([github.com/tailorkit/tailor/messaging/inbox]) into its own
// purchases table. That is eventually consistent: a purchase confirmed
// moments ago may not be known yet, and the 403 that answers says so
// ([NotBuyerDetail]), so that the customer tries again shortly.
//
// A customer reviews a product once: a unique constraint on the product
// and the author makes the database refuse a second review, however many
// instances write at once, and the answer is 409.
//
// # Moderation
//
// A review is refused with 422 and the violations, all at once, unless
// its rating is a whole number from [MinRating] to [MaxRating], its title
// is 1 to [MaxTitleLen] characters of one line without control
// characters, its body is 1 to [MaxBodyLen] characters without control
// characters other than line breaks, and neither contains a word of the
// shop's banned list (banned_words.txt, matched as whole words whatever
// their case). A banned word's violation names the field and
// [BannedWordDescription], never the word.
//
// Errors are [*fault.Error] values, so they reach HTTP callers as
// problem+json.
package reviews
