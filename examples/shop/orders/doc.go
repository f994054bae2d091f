// Package orders is the shop's orders service. This file set holds its
// events, the contract other services consume: order.placed,
// order.confirmed and order.cancelled on stream [Stream].
package orders
