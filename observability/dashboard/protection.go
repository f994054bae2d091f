package dashboard

import "net/http"

// protection is GET /dash/api/protection's answer without its version:
// the snapshot's "protection".
type protection struct {
	Budgets    []budget    `json:"budgets"`
	Rejections []rejection `json:"rejections"`
	Bulkheads  []bulkhead  `json:"bulkheads"`
}

type budget struct {
	Name      string  `json:"name"`
	Available float64 `json:"available"`
	Capacity  float64 `json:"capacity"`
	Refused   uint64  `json:"refused"`
}

type rejection struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
}

type bulkhead struct {
	Name     string `json:"name"`
	InFlight int    `json:"in_flight"`
	Capacity int    `json:"capacity"`
}

type protectionAnswer struct {
	Version int `json:"version"`
	protection
}

func (db *dashboard) protection() protection {
	p := protection{Budgets: []budget{}, Rejections: []rejection{}, Bulkheads: []bulkhead{}}
	for _, b := range db.tel.Budgets() {
		p.Budgets = append(p.Budgets, budget{Name: b.Name, Available: b.Available, Capacity: b.Capacity, Refused: b.Refused})
	}
	for _, r := range db.tel.Rejections() {
		p.Rejections = append(p.Rejections, rejection{Name: r.Name, Reason: r.Reason, Count: r.Count})
	}
	for _, b := range db.tel.Bulkheads() {
		p.Bulkheads = append(p.Bulkheads, bulkhead{Name: b.Name, InFlight: b.InFlight, Capacity: b.Capacity})
	}
	return p
}

func (db *dashboard) serveProtection(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, protectionAnswer{Version: Version, protection: db.protection()})
}
