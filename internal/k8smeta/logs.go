package k8smeta

import (
	"context"
	"strings"
	"time"

	"github.com/octostore/agent/adapters/kuberneteslogs"
	"github.com/octostore/agent/agent"
)

// LogsEnricher plugs the resolver into `source "kubernetes_logs"` through
// its enrichment hook (kuberneteslogs.NewFactoryWith): each log file's
// records get the pod's owners as entity pairs, the kind in lower case as
// the key ("replicaset" = "api-5d4f", "deployment" = "api").
type LogsEnricher struct {
	R       *Resolver
	Timeout time.Duration // per file; default 5s
}

var _ kuberneteslogs.Enricher = (*LogsEnricher)(nil)

// Entity implements kuberneteslogs.Enricher. A pod the API does not know
// (or an API error) adds nothing.
func (l *LogsEnricher) Entity(ref kuberneteslogs.PodRef) []agent.KV {
	return l.entity(ref.Namespace, ref.Pod, ref.UID)
}

func (l *LogsEnricher) entity(ns, pod, uid string) []agent.KV {
	d := l.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	info, _ := l.R.Resolve(ctx, Ref{Kind: "Pod", Namespace: ns, Name: pod, UID: uid})
	kv := make([]agent.KV, 0, len(info.Owners))
	for _, o := range info.Owners {
		kv = append(kv, agent.KV{Key: strings.ToLower(o.Kind), Value: o.Name})
	}
	return kv
}
