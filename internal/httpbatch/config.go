package httpbatch

import (
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/octostore/agent/agent"
)

// Common is the part of the config every HTTP sink shares: batching,
// compression, concurrency, retries, authentication and TLS. A sink's config
// holds it next to its own attributes (see DecodeHCL in sinks/octostore).
type Common struct {
	BatchMaxRecords int    `hcl:"batch_max_records,optional"`
	BatchMaxBytes   string `hcl:"batch_max_bytes,optional"`
	BatchMaxWait    string `hcl:"batch_max_wait,optional"`
	Compression     string `hcl:"compression,optional"`
	// CompressionLevel is the gzip level, 1 (fastest, the default) to 9
	// (smallest). Ignored with compression = "none".
	CompressionLevel int    `hcl:"compression_level,optional"`
	InFlight         int    `hcl:"in_flight,optional"`
	Timeout          string `hcl:"timeout,optional"`

	RetryInitialBackoff string `hcl:"retry_initial_backoff,optional"`
	RetryMaxBackoff     string `hcl:"retry_max_backoff,optional"`
	RetryMaxRetryAfter  string `hcl:"retry_max_retry_after,optional"`
	RetryGiveUpAfter    string `hcl:"retry_give_up_after,optional"`

	// Token is a bearer token given inline (usually token = env("VAR")).
	Token agent.Secret `hcl:"token,optional"`
	// TokenFile holds the bearer token; it is read again when it changes.
	TokenFile string `hcl:"token_file,optional"`

	TLS *TLSConfig `hcl:"tls,block"`
}

// TLSConfig is the `tls { ... }` block.
type TLSConfig struct {
	CAFile             string `hcl:"ca_file,optional"`
	CertFile           string `hcl:"cert_file,optional"`
	KeyFile            string `hcl:"key_file,optional"`
	ServerName         string `hcl:"server_name,optional"`
	InsecureSkipVerify bool   `hcl:"insecure_skip_verify,optional"`
}

// DefaultCommon returns the defaults documented in the sinks' READMEs.
func DefaultCommon() Common {
	return Common{
		BatchMaxRecords:     1000,
		BatchMaxBytes:       "1MiB",
		BatchMaxWait:        "1s",
		Compression:         "gzip",
		CompressionLevel:    1,
		InFlight:            4,
		Timeout:             "30s",
		RetryInitialBackoff: "1s",
		RetryMaxBackoff:     "30s",
		RetryMaxRetryAfter:  "5m",
		RetryGiveUpAfter:    "0s",
	}
}

// Options is Common parsed.
type Options struct {
	MaxRecords     int
	MaxBytes       int
	MaxWait        time.Duration
	Gzip           bool
	GzipLevel      int // 1..9; meaningful when Gzip
	InFlight       int
	Timeout        time.Duration
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	MaxRetryAfter  time.Duration
	GiveUpAfter    time.Duration // 0: never give up
	Token          agent.Secret
	TokenFile      string
	TLS            *TLSConfig
}

// Validate checks the shared attributes and returns AttrErrors.
func (c *Common) Validate() error {
	_, err := c.Options()
	return err
}

// Preflight loads the TLS files, as the sink does at start (agent.Preflighter).
func (c *Common) Preflight() error {
	o := Options{TLS: c.TLS}
	_, err := o.TLSClientConfig()
	return err
}

// Options parses the shared attributes.
func (c *Common) Options() (Options, error) {
	o := Options{MaxRecords: c.BatchMaxRecords, InFlight: c.InFlight, GzipLevel: c.CompressionLevel, Token: c.Token, TokenFile: c.TokenFile, TLS: c.TLS}
	var errs []error
	if o.MaxRecords < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_records", "The default is 1000.", "must be at least 1, got %d", o.MaxRecords))
	}
	if o.InFlight < 1 || o.InFlight > 256 {
		errs = append(errs, agent.AttrErrorf("in_flight", "The default is 4.", "must be between 1 and 256, got %d", o.InFlight))
	}
	if n, err := agent.ParseBytes(c.BatchMaxBytes); err != nil || n < 1 {
		errs = append(errs, agent.AttrErrorf("batch_max_bytes", `Write a size such as "1MiB".`, "%q is not a positive size", c.BatchMaxBytes))
	} else {
		o.MaxBytes = int(n)
	}
	dur := func(attr, s string, zeroOK bool, out *time.Duration) {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			errs = append(errs, agent.AttrErrorf(attr, `Write a duration such as "500ms", "30s" or "2m".`, "%q is not a positive duration", s))
			return
		}
		*out = d
	}
	dur("batch_max_wait", c.BatchMaxWait, false, &o.MaxWait)
	dur("timeout", c.Timeout, false, &o.Timeout)
	dur("retry_initial_backoff", c.RetryInitialBackoff, false, &o.InitialBackoff)
	dur("retry_max_backoff", c.RetryMaxBackoff, false, &o.MaxBackoff)
	dur("retry_max_retry_after", c.RetryMaxRetryAfter, false, &o.MaxRetryAfter)
	dur("retry_give_up_after", c.RetryGiveUpAfter, true, &o.GiveUpAfter)
	if o.MaxBackoff < o.InitialBackoff {
		o.MaxBackoff = o.InitialBackoff
	}
	switch c.Compression {
	case "gzip":
		o.Gzip = true
		if o.GzipLevel < 1 || o.GzipLevel > 9 {
			errs = append(errs, agent.AttrErrorf("compression_level", "1 is the fastest (the default), 9 the smallest.", "must be between 1 and 9, got %d", o.GzipLevel))
		}
	case "none":
	default:
		errs = append(errs, agent.AttrErrorf("compression", `Use "gzip" (the default) or "none".`, "unknown compression %q", c.Compression))
	}
	if !c.Token.IsZero() && c.TokenFile != "" {
		errs = append(errs, agent.AttrErrorf("token", "Set token or token_file, not both.", "both token and token_file are set"))
	}
	if t := c.TLS; t != nil {
		if (t.CertFile == "") != (t.KeyFile == "") {
			errs = append(errs, agent.AttrErrorf("tls.cert_file", "A client certificate needs both cert_file and key_file.", "cert_file and key_file go together"))
		}
	}
	return o, errors.Join(errs...)
}

// TLSClientConfig builds the client TLS settings: certificate and host name
// verification on, TLS 1.2 at least, an optional CA bundle and client
// certificate (mTLS).
func (o *Options) TLSClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	t := o.TLS
	if t == nil {
		return cfg, nil
	}
	cfg.ServerName = t.ServerName
	cfg.InsecureSkipVerify = t.InsecureSkipVerify
	if err := agent.LoadTLSFiles(cfg, t.CAFile, t.CertFile, t.KeyFile); err != nil {
		return nil, err
	}
	return cfg, nil
}

// RedactURL hides the user information of a URL, if any, for messages
// about an endpoint.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.Index(s, "@"); i >= 0 {
		return agent.Redacted + s[i:]
	}
	return s
}
