package main

import (
	"fmt"
	"strings"
)

// goal is one of issue 10's targets for a BenchmarkAccounts row: the unit it is judged on
// (the CPU figure when the run has one, since ns/op on a shared machine counts CPU waits),
// the bound and how the bound reads.
type goal struct {
	units      []string // judged on the first unit the row has
	max        float64
	text       string
	zeroAllocs bool
}

// accountGoals maps row names (without the "Accounts/" prefix) to their goal.
var accountGoals = map[string]goal{
	"lookup/quiet": {units: []string{"cpu-sec/op", "sec/op"}, max: 150e-9, text: "≤ 150 ns, 0 allocs", zeroAllocs: true},
	// The decision ratios are judged on the paired rows (floor and assume interleaved in one
	// run); the assume rows' ratio to the floor run before them is shown beside.
	"RS256/paired":   {units: []string{"x-floor-cpu", "x-floor"}, max: 1.10, text: "≤ 1.10× floor"},
	"ES256/paired":   {units: []string{"x-floor-cpu", "x-floor"}, max: 1.05, text: "≤ 1.05× floor"},
	"EdDSA/paired":   {units: []string{"x-floor-cpu", "x-floor"}, max: 1.05, text: "≤ 1.05× floor"},
	"tokencache/hit": {units: []string{"cpu-sec/op", "sec/op"}, max: 1e-6, text: "≤ 1 µs"},
}

// writesGoal applies to every row measured under registry writes.
var writesGoal = goal{units: []string{"x-quiet-cpu", "x-quiet"}, max: 1.2, text: "≤ 1.2× quiet"}

func goalOf(name string) (goal, bool) {
	short := strings.TrimPrefix(name, "Accounts/")
	if strings.HasSuffix(short, "writes") {
		return writesGoal, true
	}
	g, ok := accountGoals[short]
	return g, ok
}

// verdict says whether row r meets g: "met" or "**missed**", with the figure judged.
func verdict(g goal, r map[string]stat) string {
	for _, u := range g.units {
		s, ok := r[u]
		if !ok {
			continue
		}
		ok = s.value <= g.max
		if g.zeroAllocs && r["allocs/op"].value != 0 {
			ok = false
		}
		if ok {
			return g.text + ": met"
		}
		return g.text + ": **missed**"
	}
	return g.text + ": not measured"
}

// ratio renders a wall-time ratio and its CPU-time twin as "1.07 / 1.08".
func ratio(r map[string]stat, unit string) string {
	w, okw := r[unit]
	c, okc := r[unit+"-cpu"]
	switch {
	case okw && okc:
		return fmt.Sprintf("%.2f / %.2f", w.value, c.value)
	case okw:
		return fmt.Sprintf("%.2f", w.value)
	}
	return ""
}

// accountsMarkdown renders BenchmarkAccounts: the timed rows beside their goals, then the
// memory figures.
func accountsMarkdown(t *table) string {
	var b strings.Builder
	b.WriteString("| benchmark | time/op | CPU/op | GC est./op | B/op | allocs/op | page faults/op | × floor (wall / CPU) | × quiet (wall / CPU) | writes/s | goal (judged on CPU) |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	var mem map[string]stat
	for _, name := range t.order {
		if !strings.HasPrefix(name, "Accounts/") {
			continue
		}
		r := t.rows[name]
		if _, ok := r["B/role"]; ok {
			mem = r
			continue
		}
		cpu := ""
		if c, ok := r["cpu-sec/op"]; ok {
			cpu = ns(c.value) + ci(c)
		}
		wall := ns(r["sec/op"].value) + ci(r["sec/op"])
		if a, ok := r["assume-sec/op"]; ok {
			// A paired row: its ns/op mixes both sides; show assume's and floor's figures.
			f, fc := r["floor-sec/op"], r["floor-cpu-sec/op"]
			wall = ns(a.value) + " (floor " + ns(f.value) + ")"
			if c, ok := r["assume-cpu-sec/op"]; ok {
				cpu = ns(c.value) + " (floor " + ns(fc.value) + ")"
			}
		}
		gc := ""
		if c, ok := r["gc-est-sec/op"]; ok {
			gc = ns(c.value)
		}
		writes := ""
		if w, ok := r["writes/s"]; ok {
			writes = fmt.Sprintf("%.0f", w.value)
		}
		faults := ""
		if f, ok := r["faults/op"]; ok {
			faults = fmt.Sprintf("%.4f", f.value)
		}
		g := ""
		if gl, ok := goalOf(name); ok {
			g = verdict(gl, r)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s |\n",
			strings.TrimPrefix(name, "Accounts/"), wall, cpu, gc,
			r["B/op"].value, r["allocs/op"].value, faults, ratio(r, "x-floor"), ratio(r, "x-quiet"), writes, g)
	}
	if mem == nil {
		return b.String()
	}
	b.WriteString("\n| memory figure | value | goal |\n|---|--:|---|\n")
	rows := []struct {
		label, unit, format string
		scale, max          float64
		goal                string
	}{
		{"registry heap per provider", "B/provider", "%.0f B", 1, 1024, "≤ 1 KiB beyond shared keys"},
		{"registry heap per role (document and compiled trust policy included)", "B/role", "%.0f B", 1, 2048, "≤ 2 KiB"},
		{"of which the trust policy document as written", "B/role-document", "%.0f B", 1, 0, ""},
		{"key cache heap per issuer (the keys its providers share)", "B/issuer", "%.0f B", 1, 0, ""},
		{"GC CPU per allocated byte (a full collection of this heap per live byte, × 100/GOGC)", "gc-sec/heap-byte", "%.2f ns", 1e9, 0, ""},
		{"reg.Load of every provider and role", "s/load", "%.1f s", 1, 0, ""},
	}
	for _, m := range rows {
		s, ok := mem[m.unit]
		if !ok {
			continue
		}
		g := m.goal
		if m.max > 0 {
			if s.value <= m.max {
				g += ": met"
			} else {
				g += ": **missed**"
			}
		}
		fmt.Fprintf(&b, "| %s | "+m.format+" | %s |\n", m.label, s.value*m.scale, g)
	}
	return b.String()
}
