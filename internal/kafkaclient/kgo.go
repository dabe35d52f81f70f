package kafkaclient

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	kplain "github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// ClientOpts returns the franz-go options every client of the brokers
// needs: the seed brokers, the client id, the dial timeout, TLS (the
// broker's certificate verified unless insecure_skip_verify) and SASL.
// The producer and the source's partition readers both start from them.
func (s *Security) ClientOpts(brokers []string, clientID string, timeout time.Duration) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(clientID), kgo.DialTimeout(timeout)}
	tc, err := s.TLSConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if a := s.SASL; a != nil {
		switch a.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(kplain.Auth{User: a.Username, Pass: a.Password.Reveal()}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(kscram.Auth{User: a.Username, Pass: a.Password.Reveal()}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(kscram.Auth{User: a.Username, Pass: a.Password.Reveal()}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("sasl.mechanism: unknown mechanism %q", a.Mechanism)
		}
	}
	return opts, nil
}

// KgoLogger adapts franz-go's logging to a function (the component's debug
// log), scrubbing the password from every line. It logs warnings and
// errors only: franz-go's info and debug lines are per request.
func (c *Conn) KgoLogger(f func(msg string)) kgo.Logger { return kgoLogger{c, f} }

type kgoLogger struct {
	c *Conn
	f func(string)
}

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(_ kgo.LogLevel, msg string, keyvals ...any) {
	l.f(l.c.Scrub(fmt.Sprint(append([]any{msg + " "}, keyvals...)...)))
}
