package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/octostore/agent/internal/testenv"
)

// The OpenTelemetry Collector the OTLP tests run: the one e2e/setup.sh
// recorded, which must have the otlp receiver and exporters (a status
// file written by an older setup.sh may name an older build without them:
// then the one build.sh names for this checkout's builder config).
func otelcolBinary(t testing.TB) string {
	t.Helper()
	p := testenv.Path(t, "otelcol")
	if hasOTLP(p) {
		return p
	}
	out, err := exec.Command(filepath.Join(moduleRoot(t), "e2e/bench/peers/build.sh"), "--print-dir").Output()
	if err == nil {
		if q := filepath.Join(strings.TrimSpace(string(out)), "otelcol-bench"); hasOTLP(q) {
			return q
		}
	}
	testenv.Missing(t, "otelcol", p+" has no otlp receiver or exporter (an older build): run e2e/setup.sh again")
	return ""
}

func hasOTLP(bin string) bool {
	out, err := exec.Command(bin, "components").Output()
	return err == nil && bytes.Contains(out, []byte("otlpreceiver v")) && bytes.Contains(out, []byte("otlpexporter v"))
}

// startCollector writes config to dir/name.yaml and runs the Collector on
// it, its output captured (and logged if the test fails). Its own metrics
// are turned off (they would claim port 8888).
func startCollector(t testing.TB, dir, name, config string) *agentProc {
	t.Helper()
	path := filepath.Join(dir, name+".yaml")
	writeFile(t, path, strings.Replace(config, "service:\n", "service:\n  telemetry:\n    metrics:\n      level: none\n", 1))
	cmd := exec.Command(otelcolBinary(t), "--config", path)
	cmd.Dir = dir
	return startProc(t, cmd, "otelcol "+name)
}

// stop sends SIGTERM and waits for the process to exit.
func (p *agentProc) stop(t testing.TB) {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
}

// waitListening polls until something accepts TCP connections on addr.
func waitListening(t testing.TB, p *agentProc, addr string) {
	t.Helper()
	waitFor(t, startDeadline, "a listener on "+addr, func() bool {
		if p.Exited() {
			t.Fatalf("the process exited early; stderr:\n%s", tail(p.Stderr.String(), 8000))
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// collectorRecord is one log record the Collector's file exporter wrote,
// with its resource and scope.
type collectorRecord struct {
	Resource pcommon.Map
	Scope    pcommon.InstrumentationScope
	LR       plog.LogRecord
}

// readCollectorFile reads what the file exporter wrote (one
// ExportLogsServiceRequest in JSON per line; an incomplete last line is
// left for later). A missing file holds nothing.
func readCollectorFile(t testing.TB, path string) []collectorRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		return nil
	}
	var out []collectorRecord
	var um plog.JSONUnmarshaler
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: a line is not OTLP JSON: %v", path, err)
		}
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, collectorRecord{Resource: rl.Resource().Attributes(), Scope: sl.Scope(), LR: lr})
				}
			}
		}
	}
	return out
}

// countCollectorRecords counts the log records of a file exporter's file
// quickly (no decoding): the "logRecords" arrays' items, by their
// "timeUnixNano" keys (one per record the agent sends).
func countCollectorRecords(t testing.TB, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		return 0
	}
	return bytes.Count(data, []byte(`"observedTimeUnixNano"`))
}

// jsonText is v as JSON, for comparing a record's field (read back from
// JSON lines: numbers are float64) with an OTLP attribute (int64, ...).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("!%v", err)
	}
	return string(b)
}

// uidOf returns a collector record's log.record.uid.
func uidOf(r collectorRecord) string {
	v, _ := r.LR.Attributes().Get("log.record.uid")
	return v.Str()
}
