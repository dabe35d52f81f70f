package config

import (
	"net"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
)

type agentBlock struct {
	DataDir            *string `hcl:"data_dir,optional"`
	HTTPAddr           *string `hcl:"http_addr,optional"`
	AdminAddr          *string `hcl:"admin_addr,optional"`
	ShutdownTimeout    *string `hcl:"shutdown_timeout,optional"`
	CheckpointInterval *string `hcl:"checkpoint_interval,optional"`
	QueueCapacity      *int    `hcl:"queue_capacity,optional"`
	QueueBytes         *string `hcl:"queue_bytes,optional"`
	Host               *string `hcl:"host,optional"`
}

func (l *loader) decodeAgent(blk *hcl.Block, ctx *hcl.EvalContext, out *agent.AgentSettings) {
	var a agentBlock
	if d := dropUnknownCascade(gohcl.DecodeBody(blk.Body, ctx, &a)); d.HasErrors() {
		l.diags = append(l.diags, d...)
		return
	}
	if a.DataDir != nil {
		out.DataDir = *a.DataDir
	}
	if a.HTTPAddr != nil {
		out.HTTPAddr = *a.HTTPAddr
		switch *a.HTTPAddr {
		case agent.AdminOff, "":
			// "off", exactly like --http-addr off: no HTTP server.
			out.HTTPAddr = ""
		default:
			if err := agent.CheckListenAddr(*a.HTTPAddr); err != nil {
				l.errorf(attrRange(blk.Body, "http_addr", blk.DefRange), "Invalid http_addr",
					"%v. Write HOST:PORT, such as \"127.0.0.1:9598\" (this machine or pod only) or \"0.0.0.0:9598\" (for scrapers on the network), or \"off\" for no HTTP server.", err)
			}
		}
	}
	if a.AdminAddr != nil {
		l.adminAddr(attrRange(blk.Body, "admin_addr", blk.DefRange), *a.AdminAddr)
		out.AdminAddr = *a.AdminAddr
	}
	if a.Host != nil {
		out.Host = *a.Host
	}
	if a.QueueCapacity != nil {
		if *a.QueueCapacity < 1 {
			l.errorf(attrRange(blk.Body, "queue_capacity", blk.DefRange), "Invalid queue_capacity",
				"queue_capacity must be at least 1 record; the default is %d.", agent.DefaultAgentSettings().QueueCapacity)
		}
		out.QueueCapacity = *a.QueueCapacity
	}
	if a.QueueBytes != nil {
		n, err := agent.ParseBytes(*a.QueueBytes)
		switch {
		case *a.QueueBytes == "off":
			out.QueueBytes = -1
		case err != nil || n < 64<<10:
			l.errorf(attrRange(blk.Body, "queue_bytes", blk.DefRange), "Invalid queue_bytes",
				"%q is not a size of at least 64KiB. Write it as a number with a unit, such as \"4MiB\" (the default is %s), or \"off\" to bound the queues in records only.", *a.QueueBytes, agent.FormatBytes(agent.DefaultQueueBytes))
		default:
			out.QueueBytes = int(n)
		}
	}
	l.duration(blk, "shutdown_timeout", a.ShutdownTimeout, &out.ShutdownTimeout)
	l.duration(blk, "checkpoint_interval", a.CheckpointInterval, &out.CheckpointInterval)
}

func (l *loader) duration(blk *hcl.Block, name string, s *string, out *time.Duration) {
	if s == nil {
		return
	}
	d, err := time.ParseDuration(*s)
	if err != nil || d <= 0 {
		l.errorf(attrRange(blk.Body, name, blk.DefRange), "Invalid duration for "+name,
			"%q is not a positive duration. Write it as a number with a unit, such as \"500ms\", \"30s\" or \"2m\".", *s)
		return
	}
	*out = d
}

// adminAddr checks agent.admin_addr: HOST:PORT, "off" or "" (the default),
// with a warning when it is not a loopback address, since whoever reaches
// it can read live records and reload the config.
func (l *loader) adminAddr(r hcl.Range, v string) {
	if v == "" || v == agent.AdminOff {
		return
	}
	host, _, err := net.SplitHostPort(v)
	if err == nil {
		err = agent.CheckListenAddr(v)
	}
	if err != nil {
		l.errorf(r, "Invalid admin_addr",
			"%q is not HOST:PORT (%v). Write \"127.0.0.1:9599\" for a listener that only this machine (or this pod) reaches, or \"off\" to serve /tap and /-/reload nowhere.", v, err)
		return
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		l.warnf(r, "admin_addr is reachable from the network",
			"%q is not a loopback address: whoever reaches it could read live records (GET /tap) and reload the config (POST /-/reload), so there they require the admin token (Authorization: Bearer TOKEN, set with %s or %s / --admin-token-file), and are refused without one. Bind it to 127.0.0.1 (kubectl exec and kubectl port-forward reach a pod's localhost) unless they must be reached from the network.", v, agent.AdminTokenEnv, agent.AdminTokenFileEnv)
	}
}
