package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/e2e/store"
	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

// The fix-and-replay loop (octoagent replay), end to end: a rule that
// misses one nginx variant (HEAD requests) makes dead letters; the fixed
// rule replays them into the store, which then holds what a fresh run of
// the fixed rule gives, with the same ids.

// replayLog writes n nginx "combined" lines: every third a HEAD request
// (the variant the old rule misses), every fiftieth broken (a status that
// is not three digits: no rule reads it).
func replayLog(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	methods := []string{"GET", "POST", "HEAD"}
	for i := 1; i <= n; i++ {
		status := "200"
		if i%50 == 0 {
			status = "2x0"
		}
		fmt.Fprintf(w, "10.%d.%d.%d - - [21/Nov/2026:05:%02d:%02d +0000] \"%s /seq/%06d HTTP/1.1\" %s %d \"-\" \"curl/8.5.0\"\n",
			i>>16&255, i>>8&255, i&255, i/60%60, i%60, methods[i%3], i, status, 100+i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// replayRules writes the nginx pack's rule, the old one (no HEAD) or the
// fixed one (the pack's own), and returns its path.
func replayRules(t testing.TB, dir string, fixed bool) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "configs/nginx/rules.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	name := "fixed.hcl"
	if !fixed {
		name = "old.hcl"
		src = strings.Replace(src, "(?P<method>[A-Z]+)", "(?P<method>GET|POST|PUT|DELETE)", 1)
		if src == string(data) {
			t.Fatal("the nginx pack's method pattern changed: update replayRules")
		}
	}
	p := filepath.Join(dir, "rules", name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	writeFile(t, p, src)
	return p
}

// replayAgentConfig is an agent reading logPath from its start, with sinks.
func replayAgentConfig(dataDir, logPath, sinks string) string {
	return fmt.Sprintf(`agent {
  data_dir         = %s
  http_addr        = ""
  shutdown_timeout = "10s"
}
source "file" "nginx" {
  paths    = [%s]
  start_at = "beginning"
}
`, hclString(dataDir), hclString(logPath)) + sinks
}

// storeSinks sends inputs to the store through a disk buffer, and the
// dead letters to deadPath.
func storeSinks(url, deadPath, inputs, extra string) string {
	return fmt.Sprintf(`
sink "octostore" "central" {
  inputs         = [%s]
  endpoint       = %s
  batch_max_wait = "100ms"
%s  buffer {
    type      = "disk"
    max_bytes = "64MiB"
  }
}
sink "file" "dead" {
  inputs = [transform.nginx_access.dead_letter]
  path   = %s
}
`, inputs, hclString(url), extra, hclString(deadPath))
}

// storedKinds returns the store's records: id → kind.
func storedKinds(t testing.TB, db *pgx.Conn) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := db.Query(ctx, `SELECT id, kind FROM records`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var id, kind string
	if _, err := pgx.ForEachRow(rows, []any{&id, &kind}, func() error { out[id] = kind; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// freshRun runs the fixed rule over the log from the start, into a file,
// and returns what it made: id → kind.
func freshRun(t testing.TB, dir, logPath, fixed string) map[string]string {
	t.Helper()
	out := filepath.Join(dir, "fresh.jsonl")
	cfg := filepath.Join(dir, "fresh.hcl")
	writeFile(t, cfg, replayAgentConfig(filepath.Join(dir, "fresh-data"), logPath, fmt.Sprintf(`
sink "file" "all" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = %s
}
`, hclString(out))))
	if code, _, stderr := runAgent(t, "", "run", "--once", "-c", cfg, "-c", fixed, "-c", "configs/schemas"); code != 0 {
		t.Fatalf("fresh run: exit %d\n%s", code, tail(string(stderr), 4000))
	}
	got := map[string]string{}
	for _, r := range readJSONLines(t, out) {
		got[r.ID] = r.Kind
	}
	return got
}

// compareStore checks that the store holds exactly the fresh run's records
// (same ids), and its dead letters, besides the dead letters of the lines
// that now parse (a store keeps what it was sent).
func compareStore(t testing.TB, stored, fresh map[string]string, oldDead int) (records, dead int) {
	t.Helper()
	for id, kind := range fresh {
		if stored[id] != kind {
			t.Errorf("the fresh run made %s (%s); the store has %q", id, kind, stored[id])
		}
	}
	for id, kind := range stored {
		if kind == agent.KindDeadLetter {
			dead++
			continue
		}
		records++
		if fresh[id] != kind {
			t.Errorf("the store has %s (%s), which the fresh run did not make", id, kind)
		}
	}
	if dead != oldDead {
		t.Errorf("the store holds %d dead letters, want the %d of the first run (replayed ones keep their ids)", dead, oldDead)
	}
	return records, dead
}

var summaryRe = regexp.MustCompile(`replayed (\d+): (\d+) records, (\d+) still dead letters, (\d+) errors`)

// TestReplayFileIntoStore: 3,000 nginx lines; the old rule dead-letters
// the HEAD requests and the broken lines. The fixed rule replays the dead
// letters (a file, as the file sink wrote them) into the PostgreSQL store
// through a disk buffer: the store then holds exactly what a fresh run of
// the fixed rule makes, ids included. A second replay changes nothing.
func TestReplayFileIntoStore(t *testing.T) {
	const n = 3000
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{})
	db := pgConn(t, pg.DSN())
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	replayLog(t, logPath, n)
	deadPath := filepath.Join(dir, "dead.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, replayAgentConfig(filepath.Join(dir, "data"), logPath,
		storeSinks(st.URL(), deadPath, "transform.nginx_access, transform.nginx_access.dead_letter", "")))
	old, fixed := replayRules(t, dir, false), replayRules(t, dir, true)

	if code, _, stderr := runAgent(t, "", "run", "--once", "-c", cfg, "-c", old, "-c", "configs/schemas"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, tail(string(stderr), 4000))
	}
	oldDead := countLines(t, deadPath)
	wantHead, wantBroken := n/3, n/50
	if oldDead != wantHead+wantBroken-n/150 { // lines both HEAD and broken count once
		t.Fatalf("the old rule made %d dead letters, want %d", oldDead, wantHead+wantBroken-n/150)
	}
	before := storedKinds(t, db)

	// What the fix does, before anything is sent.
	code, stdout, stderr := runAgent(t, "", "replay", "-c", cfg, "-c", fixed, "-c", "configs/schemas", "--dry-run", deadPath)
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m := summaryRe.FindStringSubmatch(string(stdout))
	wantParsed := oldDead - wantBroken
	if m == nil || m[1] != fmt.Sprint(oldDead) || m[2] != fmt.Sprint(wantParsed) || m[3] != fmt.Sprint(wantBroken) || m[4] != "0" {
		t.Fatalf("dry run said:\n%s", stdout)
	}
	if !strings.Contains(string(stdout), fmt.Sprintf("%d  transform.nginx_access  step parse.regex  reason no_match", wantBroken)) {
		t.Errorf("the dry run does not say why the rest still fails:\n%s", stdout)
	}
	if after := storedKinds(t, db); len(after) != len(before) {
		t.Fatalf("the dry run sent records: %d in the store, was %d", len(after), len(before))
	}

	fresh := freshRun(t, dir, logPath, fixed)
	for pass := 1; pass <= 2; pass++ {
		// The config sends the dead letters that still fail to the same
		// file: the second pass reads them twice (same ids).
		lines := countLines(t, deadPath)
		code, stdout, stderr := runAgent(t, "", "replay", "-c", cfg, "-c", fixed, "-c", "configs/schemas", deadPath)
		if code != 0 {
			t.Fatalf("replay %d: exit %d\n%s\n%s", pass, code, stdout, stderr)
		}
		want := fmt.Sprintf("replayed %d: %d records, %d still dead letters, 0 errors", lines, wantParsed, lines-wantParsed)
		if !strings.Contains(string(stdout), want) {
			t.Fatalf("replay %d said %q, want %q", pass, stdout, want)
		}
		stored := storedKinds(t, db)
		records, dead := compareStore(t, stored, fresh, oldDead)
		rows, deliveries := storedCounts(t, db)
		testfig.Report(t, "replay pass %d: %d dead letters replayed; store %d records + %d dead letters = %d rows (deliveries %d), fresh run %d",
			pass, oldDead, records, dead, rows, deliveries, len(fresh))
		if t.Failed() {
			return
		}
	}
	// The dead letters that still fail were written again, with their ids.
	seen := map[string]int{}
	for _, r := range readJSONLines(t, deadPath) {
		seen[r.ID]++
	}
	if len(seen) != oldDead {
		t.Errorf("%d distinct dead letter ids in %s, want the %d of the first run", len(seen), deadPath, oldDead)
	}
}

// TestReplayKafkaKilled: 4,160 dead letters on a topic of the in-process
// broker. The replay reads them as a consumer group (with a source of the
// config, --from) into the store through a disk buffer, and is SIGKILLed
// in the middle; started again, it picks up from the group's committed
// offsets. The store then holds every record the fixed rule makes, once.
func TestReplayKafkaKilled(t *testing.T) {
	const n = 12000
	pg := startPostgres(t)
	st := startStore(t, pg.DSN(), "127.0.0.1:0", store.Faults{})
	db := pgConn(t, pg.DSN())
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	replayLog(t, logPath, n)
	deadPath := filepath.Join(dir, "dead.jsonl")
	old, fixed := replayRules(t, dir, false), replayRules(t, dir, true)
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, replayAgentConfig(filepath.Join(dir, "data"), logPath,
		storeSinks(st.URL(), deadPath, "transform.nginx_access", "  batch_max_records = 100\n")))
	if code, _, stderr := runAgent(t, "", "run", "--once", "-c", cfg, "-c", old, "-c", "configs/schemas"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, tail(string(stderr), 4000))
	}
	dls := splitLines(readFileBytes(t, deadPath))
	b := kafkatest.Start(t, 0, 2, []string{"dead-letters"})
	msgs := make([]kafkatest.Msg, len(dls))
	for i, l := range dls {
		msgs[i] = kafkatest.Msg{Partition: int32(i % 2), Value: l}
	}
	kafkatest.Produce(t, b.Addr, "dead-letters", msgs)
	input := filepath.Join(dir, "replay-input.hcl")
	writeFile(t, input, kafkaSourceHCL("dead_letters", b.Addr, "replay", "dead-letters"))
	fresh := freshRun(t, dir, logPath, fixed)
	wantRecords := 0
	for _, k := range fresh {
		if k != agent.KindDeadLetter {
			wantRecords++
		}
	}
	firstRows, _ := storedCounts(t, db)

	// The store answers slowly, so the kill lands mid-replay.
	st.setFaults(t, store.Faults{DelayMS: 50})
	args := []string{"replay", "-c", cfg, "-c", fixed, "-c", "configs/schemas", "-c", input, "--from", "source.kafka.dead_letters"}
	p := startAgent(t, "", args...)
	waitFor(t, kafkaDeadline, "the replay to store some records", func() bool {
		if p.Exited() {
			t.Fatalf("replay exited early:\n%s", tail(p.Stderr.String(), 4000))
		}
		rows, _ := storedCounts(t, db)
		return rows > firstRows+500
	})
	p.Signal(t, syscall.SIGKILL)
	p.WaitExit(t, exitDeadline)
	midRows, _ := storedCounts(t, db)
	st.setFaults(t, store.Faults{})

	p = startAgent(t, "", args...)
	if code := p.WaitExit(t, kafkaDeadline); code != 0 {
		t.Fatalf("second replay: exit %d\n%s\n%s", code, p.Stdout.String(), tail(p.Stderr.String(), 4000))
	}
	stored := storedKinds(t, db)
	lost, extra := 0, 0
	for id, kind := range fresh {
		if kind != agent.KindDeadLetter && stored[id] != kind {
			lost++
		}
	}
	for id := range stored {
		if _, ok := fresh[id]; !ok {
			extra++
		}
	}
	rows, deliveries := storedCounts(t, db)
	c := kafkatest.Committed(t, b.Addr, "replay", "dead-letters", 2)
	testfig.Report(t, "kafka replay killed at %d/%d rows: %d dead letters, %d records stored (want %d), lost %d, not from the fresh run %d, redelivered %d (store dedupes by id), committed %v",
		midRows-firstRows, wantRecords-int(firstRows), len(dls), rows, wantRecords, lost, extra, deliveries-rows, c)
	if lost != 0 || extra != 0 || rows != int64(wantRecords) {
		t.Fatalf("lost %d, extra %d, rows %d, want %d", lost, extra, rows, wantRecords)
	}
	if c[0]+c[1] != int64(len(dls)) {
		t.Errorf("committed offsets %v, want all %d messages", c, len(dls))
	}

	// The same topic read with the --kafka-* flags, as a dry run under
	// another group: the same counts, nothing sent.
	code, stdout, stderr := runAgent(t, "", "replay", "-c", cfg, "-c", fixed, "-c", "configs/schemas",
		"--kafka-brokers", b.Addr, "--kafka-topic", "dead-letters", "--kafka-group", "dry", "--dry-run", "--json")
	if code != 0 || !strings.Contains(string(stdout), fmt.Sprintf(`"summary": "replayed %d: %d records, %d still dead letters, 0 errors (dry run: nothing sent)"`, len(dls), len(dls)-n/50, n/50)) {
		t.Fatalf("dry run from Kafka: exit %d\n%s\n%s", code, stdout, tail(string(stderr), 4000))
	}
	if c := kafkatest.Committed(t, b.Addr, "dry", "dead-letters", 2); c[0] > 0 || c[1] > 0 {
		t.Errorf("the dry run committed offsets %v: a real replay under its group would skip them", c)
	}
}

func readFileBytes(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
