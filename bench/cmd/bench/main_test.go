package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tailorkit/tailor/bench/internal/dashclient"
)

func TestDashTable(t *testing.T) {
	var dash table
	for _, tb := range tables() {
		if tb.name == "dash" {
			dash = tb
		}
	}
	if dash.name == "" {
		t.Fatal("no table dash")
	}
	closed, open, off := dash.setup("dash-closed"), dash.setup("dash-open"), dash.setup("admin-off")
	if dash.settings[0] != "dash-closed" {
		t.Errorf("baseline %q, want dash-closed", dash.settings[0])
	}
	if closed.mode != "tailor-admin" || open.mode != closed.mode {
		t.Errorf("dash-closed runs mode %q and dash-open %q; want both on the service with its admin listener, tailor-admin", closed.mode, open.mode)
	}
	if closed.dashboard || !open.dashboard || off.dashboard {
		t.Errorf("dashboards open: closed %v, open %v, admin-off %v; want only dash-open's", closed.dashboard, open.dashboard, off.dashboard)
	}
	if off.mode != "tailor" {
		t.Errorf("admin-off runs mode %q, want tailor (no admin listener)", off.mode)
	}
}

func TestSettingsWithoutSetupRunTheirMode(t *testing.T) {
	for _, tb := range tables() {
		for _, s := range tb.settings {
			st := tb.setup(s)
			if st.mode == "" {
				t.Errorf("table %s, setting %s: no server mode", tb.name, s)
			}
			if _, ok := tb.setups[s]; !ok && (st.mode != s || st.dashboard) {
				t.Errorf("table %s, setting %s: got %+v, want the mode of its name and no dashboard", tb.name, s, st)
			}
		}
	}
}

func TestParseAddrs(t *testing.T) {
	for _, c := range []struct {
		line, addr, admin string
		ok                bool
	}{
		{"127.0.0.1:4000\n", "127.0.0.1:4000", "", true},
		{"127.0.0.1:4000 127.0.0.1:4001", "127.0.0.1:4000", "127.0.0.1:4001", true},
		{"", "", "", false},
		{"a b c", "", "", false},
	} {
		addr, admin, err := parseAddrs(c.line)
		if addr != c.addr || admin != c.admin || (err == nil) != c.ok {
			t.Errorf("parseAddrs(%q) = %q, %q, %v; want %q, %q, ok %v", c.line, addr, admin, err, c.addr, c.admin, c.ok)
		}
	}
}

func TestDashboardNote(t *testing.T) {
	d := dashclient.Summary{Clients: 3, Events: map[string]int64{"snapshot": 72}, SnapshotBytes: 72000, Connects: 3}
	got := dashboardNote("dash-open", d, 24*time.Second)
	if !strings.HasPrefix(got, "dash-open: 3 dashboard clients read 72 snapshots") || !strings.HasSuffix(got, "; 1.00 snapshots per dashboard and second of load") {
		t.Errorf("got %q", got)
	}
}

func TestIdleNote(t *testing.T) {
	d := dashclient.Summary{Clients: 200, Events: map[string]int64{"snapshot": 4000}}
	got := idleNote(config{dashboards: 3}, 200*time.Millisecond, d, 20*time.Second)
	// 200 ms over 4000 snapshots; over 200 dashboards for 20 s, 50 µs
	// each a second, 150 µs for 3: 0.015% of a second.
	for _, want := range []string{"200ms of server CPU over 20s", "50.0 µs per snapshot", "50.0 µs per dashboard and second", "3 open dashboards take 0.015% of the server's core"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to say %q", got, want)
		}
	}
}
