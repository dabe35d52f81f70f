package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/internal/diff"
)

const diffUsage = `Usage: octoagent diff [flags] A B

Compares two records of one kind (two workflow run summaries, two
crashloop contexts) and lists their differences: fields added, removed and
changed, with typed deltas (numbers as a difference and a ratio, times and
durations as a duration), list items matched by name (steps added, removed,
reordered), the status first.

A and B are each a JSON-lines file holding one record (as a file or stdout
sink writes it), or the id of a record (or a unique prefix of it) among the
records read from standard input or --in FILE.

Exit status, as diff(1): 0 the same, 1 different, 2 trouble (not JSON, an
unknown id, two kinds).

Flags:
`

// runDiff is `octoagent diff`.
func runDiff(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octoagent diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, diffUsage)
		fs.PrintDefaults()
	}
	var cfgPaths, ignore paths
	fs.Var(&cfgPaths, "c", "config file or directory whose schemas type the fields and mark the volatile ones (repeatable); the schema named as the records' kind is used")
	fs.Var(&ignore, "ignore", "a path to leave out, * for any name or index: steps[*].exit_code (repeatable)")
	asJSON := fs.Bool("json", false, "write the differences as one JSON object")
	all := fs.Bool("all", false, "compare volatile fields too (ids, times the schema marks volatile), and the records' time and entity")
	in := fs.String("in", "", "read the records that ids name from this JSON-lines file instead of standard input")
	colorMode := fs.String("color", "auto", "auto (when standard output is a terminal and NO_COLOR is unset), always or never")

	// Flags may come before, between or after A and B.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != 2 {
		fmt.Fprintf(stderr, "octoagent diff: give two records, A and B (got %d)\n\n", len(pos))
		fs.Usage()
		return 2
	}
	color := false
	switch *colorMode {
	case "always":
		color = true
	case "never":
	case "auto":
		color = os.Getenv("NO_COLOR") == "" && isTerminal(stdout)
	default:
		fmt.Fprintf(stderr, "octoagent diff: --color %q: use auto, always or never\n", *colorMode)
		return 2
	}

	pool := &recordPool{stdin: stdin, in: *in}
	var recs [2]agent.Record
	for i, arg := range pos {
		r, err := pool.resolve(arg)
		if err != nil {
			fmt.Fprintf(stderr, "octoagent diff: %s: %v\n", "AB"[i:i+1], err)
			return 2
		}
		recs[i] = r
	}
	opt := diff.Options{All: *all, Ignore: ignore}
	if len(cfgPaths) > 0 {
		res, diags := config.Load(cfgPaths, components())
		if diags.HasErrors() {
			config.WriteDiagnostics(stderr, res.Files, diags)
			fmt.Fprintln(stderr, "octoagent diff: the config (-c) has errors")
			return 2
		}
		s, ok := res.Schemas[recs[0].Kind]
		if !ok {
			fmt.Fprintf(stderr, "octoagent diff: note: no schema %q in the config; field types are inferred and no field is volatile\n", recs[0].Kind)
		}
		opt.Schema = s
	}
	res, err := diff.Records(&recs[0], &recs[1], opt)
	if err != nil {
		fmt.Fprintf(stderr, "octoagent diff: %v\n", err)
		return 2
	}
	if *asJSON {
		err = res.JSON(stdout)
	} else {
		err = res.Text(stdout, color)
	}
	if err != nil {
		fmt.Fprintf(stderr, "octoagent diff: %v\n", err)
		return 2
	}
	if res.Same {
		return 0
	}
	return 1
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// recordPool finds the records A and B name: a file of one record, or an
// id among the records of standard input (or --in), read once.
type recordPool struct {
	stdin io.Reader
	in    string
	recs  []agent.Record
	name  string
	read  bool
}

var idLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{4,32}$`) }) // compiled on first use, not at every start

func (p *recordPool) resolve(arg string) (agent.Record, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		recs, err := readRecordsFile(arg)
		if err != nil {
			return agent.Record{}, err
		}
		switch len(recs) {
		case 0:
			return agent.Record{}, fmt.Errorf("%s holds no record", arg)
		case 1:
			return recs[0], nil
		}
		return agent.Record{}, fmt.Errorf("%s holds %d records (%s); name one by id: octoagent diff --in %s ID_A ID_B", arg, len(recs), idList(recs), arg)
	}
	if !idLike().MatchString(arg) {
		return agent.Record{}, fmt.Errorf("no such file, and not a record id (32 hex digits, or a prefix of at least 4)")
	}
	if err := p.load(); err != nil {
		return agent.Record{}, err
	}
	var found []agent.Record
	for _, r := range p.recs {
		if r.ID == arg {
			return r, nil
		}
		if strings.HasPrefix(r.ID, arg) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return agent.Record{}, fmt.Errorf("no record with id %s in %s (records read: %d)", arg, p.name, len(p.recs))
	case 1:
		return found[0], nil
	}
	return agent.Record{}, fmt.Errorf("id prefix %s matches %d records in %s (%s); give more of it", arg, len(found), p.name, idList(found))
}

func (p *recordPool) load() error {
	if p.read {
		return nil
	}
	p.read = true
	if p.in != "" {
		recs, err := readRecordsFile(p.in)
		p.recs, p.name = recs, p.in
		return err
	}
	p.name = "standard input"
	recs, err := readRecords(p.stdin, p.name)
	p.recs = recs
	return err
}

func readRecordsFile(path string) ([]agent.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readRecords(f, path)
}

// readRecords reads JSON lines in the record wire form; a line that is not
// one is an error at its line.
func readRecords(r io.Reader, name string) ([]agent.Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var out []agent.Record
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		rec, err := agent.ParseJSON(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return out, nil
}

func idList(recs []agent.Record) string {
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.ID[:min(len(r.ID), 12)]+" "+r.Kind)
	}
	sort.Strings(ids)
	if len(ids) > 5 {
		ids = append(ids[:5], "...")
	}
	return strings.Join(ids, ", ")
}
