package kafkasink

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/kafkaclient"
	"github.com/octostore/agent/internal/kafkatest"
)

// SASL PLAIN and SCRAM reach a broker that requires them; a wrong
// password delivers nothing (the records fail at the deadline), and no log
// line holds the password.
func TestSASL(t *testing.T) {
	const pass = "SINK-SASL-CANARY-771"
	for _, mech := range kafkaclient.Mechanisms {
		t.Run(mech, func(t *testing.T) {
			b := kafkatest.Start(t, 0, 1, []string{"changes"}, kfake.EnableSASL(), kfake.Superuser(mech, "octo", pass))
			var logs agenttest.LogBuffer
			publish := func(password agent.Secret, deadline time.Duration) int64 {
				testLogs = &logs
				defer func() { testLogs = io.Discard }()
				s, _ := newTestSink(t, b.Addr, "changes", func(c *Config) {
					c.SASL = &kafkaclient.SASL{Mechanism: mech, Username: "octo", Password: password}
				})
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				var outcome atomic.Int64
				_ = publish(s, ctx, batch(agent.NewAcks(), 0, 20, 3, &outcome))
				return outcome.Load()
			}
			if o := publish(pass, time.Minute); o != 1 {
				t.Fatalf("outcome %d with the right password, want delivered", o)
			}
			if hw := b.PartitionInfo("changes", 0).HighWatermark; hw != 20 {
				t.Fatalf("%d messages in the topic, want 20", hw)
			}
			if o := publish(pass+"-wrong", 3*time.Second); o != -1 {
				t.Fatalf("outcome %d with a wrong password, want failed", o)
			}
			if hw := b.PartitionInfo("changes", 0).HighWatermark; hw != 20 {
				t.Fatalf("%d messages after the wrong password, want still 20", hw)
			}
			if bytes.Contains([]byte(logs.String()), []byte(pass)) {
				t.Errorf("the password appears in the logs")
			}
		})
	}
}
