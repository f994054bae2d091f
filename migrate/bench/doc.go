// Package bench sets tailor's migrate beside github.com/pressly/goose/v3,
// the library it would otherwise wrap, on the behaviour tailor's services
// rely on and on the time instances take to start together. It is a module
// of its own so that goose stays out of tailor's dependencies; see
// README.md for how to run it and for the figures.
package bench
