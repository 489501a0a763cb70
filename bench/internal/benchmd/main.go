// Command benchmd turns benchstat's CSV output for the webidentity benchmarks into markdown
// tables (ns/op, B/op, allocs/op and the ratio to the signature-check floor) and writes them
// into a README between the markers
//
//	<!-- bench:begin --> ... <!-- bench:end -->
//
// It is run by scripts/bench.sh:
//
//	benchmd -suite suite.csv -peers peers.csv -header "..." -readme bench/README.md
//
// and, for BenchmarkAccounts (scripts/bench.sh accounts), into the markers
// <!-- accounts:begin --> ... <!-- accounts:end --> with each figure beside its goal:
//
//	benchmd -accounts accounts.csv -header "..." -readme bench/README.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// stat is one benchmark's summary for one unit: benchstat's center and confidence interval.
type stat struct {
	value float64
	ci    string
}

// table maps benchmark name (without the -GOMAXPROCS suffix) to unit to stat, keeping the
// order in which benchmarks first appear.
type table struct {
	order []string
	rows  map[string]map[string]stat
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// readCSV parses `benchstat -format csv` output: blocks of a file line, a unit line
// (",unit,CI") and rows ("name,value,ci"), separated by blank lines.
func readCSV(path string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &table{rows: map[string]map[string]stat{}}
	unit := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Split(line, ",")
		switch {
		case line == "":
			unit = ""
		case len(fields) >= 3 && fields[0] == "" && fields[2] == "CI":
			unit = fields[1]
		case unit != "" && len(fields) >= 2 && fields[0] != "" && fields[0] != "geomean":
			v, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				continue
			}
			u := unit
			if strings.Contains(u, "ns/") {
				// benchstat writes a unit like cpu-ns/op as cpu-sec/op, except for rows
				// whose values are all zero: take both as seconds.
				u, v = strings.Replace(u, "ns/", "sec/", 1), v*1e-9
			}
			name := procSuffix.ReplaceAllString(fields[0], "")
			if t.rows[name] == nil {
				t.rows[name] = map[string]stat{}
				t.order = append(t.order, name)
			}
			ci := ""
			if len(fields) >= 3 {
				ci = fields[2]
			}
			t.rows[name][u] = stat{v, ci}
		}
	}
	return t, sc.Err()
}

// ns formats seconds per op as ns/op, µs/op or ms/op.
func ns(sec float64) string {
	n := sec * 1e9
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2f ms", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1f µs", n/1e3)
	case n >= 1e3:
		return fmt.Sprintf("%.2f µs", n/1e3)
	}
	return fmt.Sprintf("%.0f ns", n)
}

func ci(s stat) string {
	if s.ci == "" || s.ci == "∞" {
		return ""
	}
	return " ±" + s.ci
}

// floorOf returns the name of the floor benchmark a row is compared with, or "".
func floorOf(name string) string {
	parts := strings.Split(name, "/")
	switch {
	case parts[0] == "Peers" && len(parts) == 3:
		return "Peers/" + parts[1] + "/floor"
	case parts[0] == "HotPath" && len(parts) == 3:
		if strings.HasSuffix(parts[2], "-parallel") {
			return "HotPath/" + parts[1] + "/bare-parallel"
		}
		return "HotPath/" + parts[1] + "/bare"
	}
	return ""
}

// markdown renders the rows of t whose names start with prefix.
func markdown(t *table, prefix string, extraUnits bool) string {
	var b strings.Builder
	units := map[string]bool{}
	for _, name := range t.order {
		if strings.HasPrefix(name, prefix) {
			for u := range t.rows[name] {
				if u != "sec/op" && u != "B/op" && u != "allocs/op" {
					units[u] = true
				}
			}
		}
	}
	var extra []string
	if extraUnits {
		for u := range units {
			extra = append(extra, u)
		}
		sort.Strings(extra)
	}
	b.WriteString("| benchmark | time/op | B/op | allocs/op | × floor |")
	for _, u := range extra {
		b.WriteString(" " + u + " |")
	}
	b.WriteString("\n|---|--:|--:|--:|--:|")
	for range extra {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, name := range t.order {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		r := t.rows[name]
		ratio := ""
		if f, ok := t.rows[floorOf(name)]["sec/op"]; ok && f.value > 0 {
			ratio = fmt.Sprintf("%.2f", r["sec/op"].value/f.value)
		}
		fmt.Fprintf(&b, "| %s | %s%s | %.0f | %.0f | %s |", name, ns(r["sec/op"].value), ci(r["sec/op"]), r["B/op"].value, r["allocs/op"].value, ratio)
		for _, u := range extra {
			if s, ok := r[u]; ok {
				fmt.Fprintf(&b, " %g |", s.value)
			} else {
				b.WriteString("  |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func main() {
	suitePath := flag.String("suite", "", "benchstat CSV of ./bench")
	peersPath := flag.String("peers", "", "benchstat CSV of ./bench/peers")
	accountsPath := flag.String("accounts", "", "benchstat CSV of BenchmarkAccounts (writes the accounts section instead)")
	header := flag.String("header", "", "text placed above the tables (date, machine, command)")
	readme := flag.String("readme", "bench/README.md", "file whose results section is replaced")
	flag.Parse()
	var section, begin, end string
	if *accountsPath != "" {
		accounts, err := readCSV(*accountsPath)
		if err != nil {
			log.Fatal(err)
		}
		section = *header + "\n\n" + accountsMarkdown(accounts)
		begin, end = "<!-- accounts:begin -->", "<!-- accounts:end -->"
	} else {
		suite, err := readCSV(*suitePath)
		if err != nil {
			log.Fatal(err)
		}
		peers, err := readCSV(*peersPath)
		if err != nil {
			log.Fatal(err)
		}
		section = suiteMarkdown(*header, suite, peers)
		begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
	}
	old, err := os.ReadFile(*readme)
	if err != nil {
		log.Fatal(err)
	}
	s, err := replaceSection(string(old), begin, end, section)
	if err != nil {
		log.Fatalf("%s: %v", *readme, err)
	}
	if err := os.WriteFile(*readme, []byte(s), 0o644); err != nil {
		log.Fatal(err)
	}
}

// suiteMarkdown is the section of the suite and the peers.
func suiteMarkdown(header string, suite, peers *table) string {
	var out strings.Builder
	out.WriteString(header + "\n\n")
	out.WriteString("### Peers: the same token and key, signature + iss/aud/exp\n\n")
	out.WriteString(markdown(peers, "Peers/", false))
	out.WriteString("\n### Hot path (× floor: × the bare check of the same token, parallel rows × bare-parallel)\n\n")
	out.WriteString(markdown(suite, "HotPath/", true))
	out.WriteString("\n### Kid flood, 10,000 issuers, policy evaluation\n\n")
	rest := &table{rows: suite.rows}
	for _, n := range suite.order {
		if !strings.HasPrefix(n, "HotPath/") && !strings.HasPrefix(n, "Accounts/") {
			rest.order = append(rest.order, n)
		}
	}
	out.WriteString(markdown(rest, "", true))
	return out.String()
}

// replaceSection replaces what lies between the begin and end markers of s with section.
func replaceSection(s, begin, end, section string) (string, error) {
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %s ... %s section", begin, end)
	}
	return s[:i+len(begin)] + "\n" + section + s[j:], nil
}
