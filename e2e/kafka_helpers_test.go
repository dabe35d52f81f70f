package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/octostore/agent/internal/kafkatest"
)

// kafkaAgentConfig is an agent config that consumes topic as a member of
// group and appends the raw records to out. Timings are short so that
// rebalances after a SIGKILL take seconds, not half a minute.
func kafkaAgentConfig(dataDir, broker, group, topic, out string) string {
	return fmt.Sprintf(`
agent {
  data_dir         = %s
  shutdown_timeout = "20s"
}
%s
sink "file" "out" {
  inputs = [source.kafka.in]
  path   = %s
}
`, hclString(dataDir), kafkaSourceHCL("in", broker, group, topic), hclString(out))
}

// kafkaSourceHCL is a source "kafka" block with the short group timings of
// the tests.
func kafkaSourceHCL(name, broker, group, topic string) string {
	return fmt.Sprintf(`
source "kafka" %s {
  brokers            = [%s]
  group_id           = %s
  topics             = [%s]
  start_offset       = "earliest"
  batch_max_records  = 1000
  batch_timeout      = "20ms"
  max_wait           = "200ms"
  commit_interval    = "100ms"
  session_timeout    = "2s"
  heartbeat_interval = "200ms"
  rebalance_timeout  = "6s"
  revoke_timeout     = "2s"
  lag_interval       = "500ms"
}
`, hclString(name), hclString(broker), hclString(group), hclString(topic))
}

// kafkaPos is one message's place: partition and offset.
type kafkaPos struct {
	P   int
	Off int64
}

// readKafkaOut reads the records a kafka source wrote through a file sink.
// A torn last line (the agent was killed mid-write) is skipped and counted:
// it was never acknowledged, so it is read again.
func readKafkaOut(t testing.TB, path string) (recs []kafkaPos, torn int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	for sc.Scan() {
		var w struct {
			Origin struct {
				Topic     string `json:"topic"`
				Partition int    `json:"partition"`
				Offset    int64  `json:"offset"`
			} `json:"origin"`
		}
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil || w.Origin.Topic == "" {
			torn++
			continue
		}
		recs = append(recs, kafkaPos{w.Origin.Partition, w.Origin.Offset})
	}
	return recs, torn
}

// tally counts, over several output files, how often each position was
// delivered.
func tally(t testing.TB, paths ...string) (seen map[kafkaPos]int, torn int) {
	seen = map[kafkaPos]int{}
	for _, p := range paths {
		recs, n := readKafkaOut(t, p)
		torn += n
		for _, r := range recs {
			seen[r]++
		}
	}
	return seen, torn
}

// lostAndDups compares seen with every offset below want[p].
func lostAndDups(seen map[kafkaPos]int, want map[int]int64) (lost, dups int) {
	for p, n := range want {
		for off := int64(0); off < n; off++ {
			c := seen[kafkaPos{p, off}]
			if c == 0 {
				lost++
			} else {
				dups += c - 1
			}
		}
	}
	return lost, dups
}

// seqMessages spreads n messages round-robin over partitions.
func seqMessages(n int, partitions int32) ([]kafkatest.Msg, map[int]int64) {
	msgs := make([]kafkatest.Msg, n)
	per := map[int]int64{}
	for i := range msgs {
		p := int32(i) % partitions
		msgs[i] = kafkatest.Msg{Partition: p, Key: "k" + strconv.Itoa(i%97), Value: fmt.Sprintf(`{"seq":%d,"pad":"%s"}`, i, strings.Repeat("x", 40))}
		per[int(p)]++
	}
	return msgs, per
}

var genRe = regexp.MustCompile(`msg="joined consumer group generation" .*generation=(\d+) .*partitions=(\S*)`)

// lastGeneration returns the last generation an agent's log says it
// joined, and the partitions it holds in it.
func lastGeneration(stderr string) (gen int, parts []string) {
	ms := genRe.FindAllStringSubmatch(stderr, -1)
	if len(ms) == 0 {
		return -1, nil
	}
	m := ms[len(ms)-1]
	gen, _ = strconv.Atoi(m[1])
	if m[2] != "" && m[2] != `""` {
		parts = strings.Split(strings.Trim(m[2], `"`), ",")
	}
	sort.Strings(parts)
	return gen, parts
}

func outPath(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("out-%d.jsonl", i)) }
