package kuberneteslogs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/lines"
	"github.com/octostore/agent/internal/tail"
)

type rec struct {
	msg    string
	time   time.Time
	entity map[string]string
	offset int64
	dead   bool
}

// capture reads back what a capture sink of the harness (runMeta) got.
type capture struct{ c *agenttest.Capture }

func (c capture) snapshot() []rec {
	var out []rec
	for _, r := range c.c.Records() {
		x := rec{msg: string(r.Raw), time: r.Time, entity: map[string]string{}, offset: r.Origin.Offset}
		if r.Kind == agent.KindDeadLetter {
			x.msg, x.dead = r.MaterializeFields()["raw"].(string), true
		}
		for _, kv := range r.Entity {
			x.entity[kv.Key] = kv.Value
		}
		out = append(out, x)
	}
	return out
}

// waitRecords waits until the sink has n records.
func (c capture) waitRecords(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d records", n), func() bool { return len(c.c.Records()) >= n })
}

// run runs the source, with pod metadata off, over podsDir into a capture
// sink (its dead letters too).
func run(t *testing.T, podsDir, dataDir string, once bool, edit func(*Config)) (capture, func()) {
	t.Helper()
	h := runMeta(t, podsDir, dataDir, nil, once, func(c *Config) {
		off := false
		c.PodMetadata = &PodMetadata{Enabled: &off}
		if edit != nil {
			edit(c)
		}
	})
	return capture{h.caps["all"]}, h.stop
}

func writeLog(t *testing.T, podsDir, podDir, container, content string) string {
	t.Helper()
	dir := filepath.Join(podsDir, podDir, container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "0.log")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return p
}

func msgs(rs []rec) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.msg
	}
	return out
}

func TestParsePath(t *testing.T) {
	ref, ok := parsePath("/var/log/pods/prod_api-7d9f-x2_0f1e2d3c-aaaa-bbbb/app/3.log")
	if !ok || ref != (PodRef{Namespace: "prod", Pod: "api-7d9f-x2", UID: "0f1e2d3c-aaaa-bbbb", Container: "app"}) {
		t.Fatalf("parsePath = %+v, %v", ref, ok)
	}
	for _, bad := range []string{"/var/log/pods/noseparators/app/0.log", "/var/log/pods/a_b/app/0.log", "/var/log/pods/a__c/app/0.log"} {
		if _, ok := parsePath(bad); ok {
			t.Errorf("parsePath(%q) accepted", bad)
		}
	}
}

func TestCRIAndDockerFormatsWithPartials(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	cri := strings.Join([]string{
		"2026-11-21T05:00:00.000000001Z stdout F GET /healthz 200",
		"2026-11-21T05:00:01.5Z stdout P part one, ",
		"2026-11-21T05:00:01.6Z stderr F an error in between",
		"2026-11-21T05:00:01.7Z stdout P part two, ",
		"2026-11-21T05:00:01.8Z stdout F part three",
		"2026-11-21T05:00:02Z stderr F ",
		"not a log line at all",
	}, "\n") + "\n"
	writeLog(t, pods, "prod_api-1_uid-1", "app", cri)
	docker := strings.Join([]string{
		`{"log":"hello from docker\n","stream":"stdout","time":"2026-11-21T06:00:00.123Z"}`,
		`{"log":"a long line split ","stream":"stderr","time":"2026-11-21T06:00:01Z"}`,
		`{"log":"in two\n","stream":"stderr","time":"2026-11-21T06:00:02Z"}`,
	}, "\n") + "\n"
	writeLog(t, pods, "dev_web-2_uid-2", "nginx", docker)
	sink, wait := run(t, pods, data, true, nil)
	wait()
	got := sink.snapshot()
	sort.SliceStable(got, func(i, j int) bool { return got[i].entity[KeyNamespace] < got[j].entity[KeyNamespace] })
	want := []string{
		"hello from docker", "a long line split in two", // dev
		"GET /healthz 200", "an error in between", "part one, part two, part three", "", "not a log line at all", // prod
	}
	if strings.Join(msgs(got), "|") != strings.Join(want, "|") {
		t.Fatalf("messages = %q\nwant %q", msgs(got), want)
	}
	if got[0].entity[KeyContainer] != "nginx" || got[0].entity[KeyPod] != "web-2" || got[0].entity[KeyStream] != "stdout" || got[0].entity[KeyPodUID] != "uid-2" {
		t.Fatalf("entity = %v", got[0].entity)
	}
	if want := time.Date(2026, 11, 21, 6, 0, 0, 123e6, time.UTC); !got[0].time.Equal(want) {
		t.Fatalf("docker record time = %v, want %v", got[0].time, want)
	}
	if got[1].entity[KeyStream] != "stderr" {
		t.Fatalf("joined docker line entity = %v", got[1].entity)
	}
	joined := got[4]
	if want := time.Date(2026, 11, 21, 5, 0, 1, 5e8, time.UTC); !joined.time.Equal(want) || joined.offset != int64(len("2026-11-21T05:00:00.000000001Z stdout F GET /healthz 200\n")) {
		t.Fatalf("joined record: time %v offset %d; want the first part's", joined.time, joined.offset)
	}
	if got[2].time != time.Date(2026, 11, 21, 5, 0, 0, 1, time.UTC) {
		t.Fatalf("CRI time = %v", got[2].time)
	}
}

// A record still being joined holds the commit position back to its first
// part, even when the other stream's records after it are delivered: a
// restart reads it whole again.
func TestPartialHoldsCommitBack(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	p := writeLog(t, pods, "prod_api-1_uid-1", "app",
		"2026-11-21T05:00:00Z stdout P first half, \n2026-11-21T05:00:00Z stderr F other stream\n")
	sink, wait := run(t, pods, data, false, func(c *Config) { c.PartialTimeout = "1h" })
	sink.waitRecords(t, 1)
	time.Sleep(100 * time.Millisecond) // let the checkpoint flush
	wait()
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("2026-11-21T05:00:01Z stdout F second half\n")
	f.Close()
	sink2, wait2 := run(t, pods, data, true, nil)
	wait2()
	got := msgs(sink2.snapshot())
	// The stderr line is read again (same id: a duplicate the store drops),
	// and the stdout record is whole.
	if strings.Join(got, "|") != "other stream|first half, second half" {
		t.Fatalf("after restart: %q", got)
	}
	if msgs(sink.snapshot())[0] != "other stream" {
		t.Fatalf("first run: %q", msgs(sink.snapshot()))
	}
}

func TestIncludeExclude(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	line := "2026-11-21T05:00:00Z stdout F x\n"
	writeLog(t, pods, "prod_api-1_u1", "app", line)
	writeLog(t, pods, "prod_api-1_u1", "istio-proxy", line)
	writeLog(t, pods, "kube-system_dns-1_u2", "dns", line)
	writeLog(t, pods, "prod_worker-1_u3", "app", line)
	sink, wait := run(t, pods, data, true, func(c *Config) {
		c.ExcludeNamespaces = []string{"kube-*"}
		c.IncludePods = []string{"api-*", "worker-*"}
		c.ExcludeContainers = []string{"istio-proxy"}
	})
	wait()
	var who []string
	for _, r := range sink.snapshot() {
		who = append(who, r.entity[KeyPod]+"/"+r.entity[KeyContainer])
	}
	sort.Strings(who)
	if strings.Join(who, ",") != "api-1/app,worker-1/app" {
		t.Fatalf("read %v", who)
	}
}

// kubelet rotation: 0.log is renamed to 0.log.<timestamp> (out of the
// glob) and a new 0.log is created. Nothing is lost or repeated.
func TestKubeletRotation(t *testing.T) {
	pods, data := t.TempDir(), t.TempDir()
	var want []string
	add := func(from, to int) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "2026-11-21T05:00:00Z stdout F msg %04d\n", i)
			want = append(want, fmt.Sprintf("msg %04d", i))
		}
		return b.String()
	}
	p := writeLog(t, pods, "prod_api-1_u1", "app", add(0, 50))
	sink, wait := run(t, pods, data, false, nil)
	waitN := func(n int) { sink.waitRecords(t, n) }
	for i := 1; i <= 3; i++ {
		waitN(50 + (i-1)*100) // kubelet rotates at 10 MiB, far apart
		f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err := os.Rename(p, fmt.Sprintf("%s.20261121-05000%d", p, i)); err != nil {
			t.Fatal(err)
		}
		f.WriteString(add(i*100-50, i*100)) // the runtime writes on until it reopens
		f.Close()
		writeLog(t, pods, "prod_api-1_u1", "app", add(i*100, i*100+50))
	}
	waitN(len(want))
	time.Sleep(100 * time.Millisecond)
	wait()
	got := msgs(sink.snapshot())
	sort.Strings(got)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
}

func TestDecoderLimitsAndCommit(t *testing.T) {
	nop := func() prometheus.Counter { return prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}) }
	src := &source{cfg: &Config{partialTimeout: time.Hour, MaxMessageBytes: 16}, c: &counters{malformed: nop(), joined: nop(), timedOut: nop(), missing: nop()}}
	d := src.newDecoder(PodRef{Namespace: "ns", Pod: "p", UID: "u", Container: "c"})
	var out []tail.Entry
	ls := []string{
		"2026-11-21T05:00:00Z stdout P 0123456789",
		"2026-11-21T05:00:00Z stdout P abcdefghij", // would pass 16 bytes: the first part goes alone
		"2026-11-21T05:00:00Z stdout F !",
	}
	off := int64(0)
	for _, l := range ls {
		end := off + int64(len(l)) + 1
		out = d.Add(lines.Line{Bytes: []byte(l), Offset: off, End: end}, time.Now(), out)
		off = end
	}
	if len(out) != 2 || string(out[0].Raw) != "0123456789" || string(out[1].Raw) != "abcdefghij!" {
		t.Fatalf("entries = %+v", out)
	}
	if out[0].Commit != int64(len(ls[0])+1) || out[1].Offset != int64(len(ls[0])+1) || out[1].Commit != off {
		t.Fatalf("offsets: %+v", out)
	}
}

// The README shows the documented RBAC verbatim.
func TestREADMEShowsRBAC(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rbac, err := os.ReadFile(filepath.Join("..", "..", "configs", "kubernetes-logs", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(rbac)+"```") {
		t.Error("README.md does not show configs/kubernetes-logs/rbac.yaml verbatim")
	}
}
