package saga

import "time"

// SetHook makes o call hook at each point a process may die: "call KEY"
// before a step's action or compensation, "return KEY" after it, and
// "record KEY" once its outcome is recorded.
func SetHook(o *Orchestrator, hook func(point string)) { o.hook = hook }

// Ahead makes o's clock run d ahead of the real one, as an instance whose
// lease on others' claims has run out sees it.
func Ahead(o *Orchestrator, d time.Duration) { o.now = func() time.Time { return time.Now().Add(d) } }

// Stopping returns the channel r's Stop closes first.
func Stopping(r *Recovery) <-chan struct{} { return r.stopping }
