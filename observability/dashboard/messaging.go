package dashboard

import "net/http"

type outboxStats struct {
	Name      string  `json:"name"`
	Pending   int     `json:"pending"`
	OldestMS  float64 `json:"oldest_ms"`
	Published int64   `json:"published"`
	Failures  int64   `json:"failures"`
}

type consumerStats struct {
	Name         string `json:"name"`
	Delivered    int64  `json:"delivered"`
	Redelivered  int64  `json:"redelivered"`
	DeadLettered int64  `json:"dead_lettered"`
	InFlight     int    `json:"in_flight"`
}

type sagaStats struct {
	Name         string `json:"name"`
	Running      int    `json:"running"`
	Compensating int    `json:"compensating"`
	Stuck        int    `json:"stuck"`
	Completed    int64  `json:"completed"`
	Failed       int64  `json:"failed"`
}

// messagingPanel is the snapshot's "messaging" and, with a version, the
// answer of GET /dash/api/messaging.
type messagingPanel struct {
	Outboxes  []outboxStats   `json:"outboxes"`
	Consumers []consumerStats `json:"consumers"`
	Sagas     []sagaStats     `json:"sagas"`
}

type messagingAnswer struct {
	Version int `json:"version"`
	messagingPanel
}

func (db *dashboard) messaging() messagingPanel {
	p := messagingPanel{Outboxes: []outboxStats{}, Consumers: []consumerStats{}, Sagas: []sagaStats{}}
	for _, o := range db.tel.Outboxes() {
		p.Outboxes = append(p.Outboxes, outboxStats{Name: o.Name, Pending: o.Pending, OldestMS: ms(o.Oldest), Published: o.Published, Failures: o.Failures})
	}
	for _, c := range db.tel.Consumers() {
		p.Consumers = append(p.Consumers, consumerStats{Name: c.Name, Delivered: c.Delivered, Redelivered: c.Redelivered, DeadLettered: c.DeadLettered, InFlight: c.InFlight})
	}
	for _, s := range db.tel.Sagas() {
		p.Sagas = append(p.Sagas, sagaStats{Name: s.Name, Running: s.Running, Compensating: s.Compensating, Stuck: s.Stuck, Completed: s.Completed, Failed: s.Failed})
	}
	return p
}

func (db *dashboard) serveMessaging(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, messagingAnswer{Version: Version, messagingPanel: db.messaging()})
}
