package kuberneteslogs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/tail"
)

// PodRef names the container a log file belongs to, as its path says.
type PodRef struct {
	Namespace, Pod, UID, Container string
}

// parsePath reads namespace, pod, uid and container from
// <pods_dir>/<namespace>_<pod>_<uid>/<container>/<n>.log.
func parsePath(path string) (PodRef, bool) {
	dir := filepath.Dir(path)
	container := filepath.Base(dir)
	parts := strings.Split(filepath.Base(filepath.Dir(dir)), "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || container == "" || container == "." {
		return PodRef{}, false
	}
	return PodRef{Namespace: parts[0], Pod: parts[1], UID: parts[2], Container: container}, true
}

// filter says whether a name passes include (empty: all) and exclude globs.
func filter(name string, include, exclude []string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			if ok, _ := filepath.Match(g, name); ok {
				return true
			}
		}
		return false
	}
	return (len(include) == 0 || match(include)) && !match(exclude)
}

// Entity keys a record carries whatever the metadata: from the file's
// path (OpenTelemetry k8s.* names), the stream (log.iostream), and the
// marker of records whose pod metadata is missing.
const (
	KeyNamespace       = "k8s.namespace.name"
	KeyPod             = "k8s.pod.name"
	KeyPodUID          = "k8s.pod.uid"
	KeyContainer       = "k8s.container.name"
	KeyStream          = "log.iostream"
	KeyMetadataMissing = "octoagent.metadata.missing"
)

// Why metadata is missing (the value of octoagent.metadata.missing).
const (
	MissingNotSynced  = "not_synced"  // the first pod list is not in (API unreachable)
	MissingUnknownPod = "unknown_pod" // listed, but no pod has this uid
)

// The pod annotations a pod steers its logs with. A container's own
// annotation, ANNOTATION-CONTAINER (octoagent.io/exclude-istio-proxy),
// wins over the pod's.
const (
	AnnotationExclude   = k8smeta.ControlPrefix + "exclude"
	AnnotationRules     = k8smeta.ControlPrefix + "rules"
	AnnotationMultiline = k8smeta.ControlPrefix + "multiline"
)

type counters struct {
	malformed, joined, timedOut prometheus.Counter
	missing, annotationErrors   prometheus.Counter
	excluded, mlTruncated       prometheus.Counter
}

// source is the kubernetes_logs source: the Tailer, with a decoder per
// file, and the pod metadata.
type source struct {
	*tail.Tailer
	set  agent.Settings
	cfg  *Config
	c    *counters
	pods *k8smeta.Pods // nil when pod metadata is off

	router    agent.Router
	rules     map[string][]string // rules transform name -> its id
	defaultTo []string            // the consumers that take the records no annotation routes

	reported sync.Map // annotation errors and unknown pods already logged
}

func newSource(set agent.Settings, cfg *Config) (*source, error) {
	m := set.Metrics
	s := &source{set: set, cfg: cfg, c: &counters{
		malformed:        m.Counter("kubernetes_logs_malformed_lines_total", "Lines in neither CRI nor docker json-file format; passed on whole as the message."),
		joined:           m.Counter("kubernetes_logs_partial_lines_joined_total", "Partial lines (CRI P, docker without newline) joined into the record they belong to."),
		timedOut:         m.Counter("kubernetes_logs_partial_timeouts_total", "Records emitted with their last part missing, after partial_timeout or at max_message_bytes."),
		missing:          m.Counter("kubernetes_logs_metadata_missing_total", "Records emitted without pod metadata (marked octoagent.metadata.missing): the first pod list is not in, or the pod is unknown."),
		annotationErrors: m.Counter("kubernetes_logs_annotation_errors_total", "octoagent.io/ annotations with a value the source cannot use (unknown transform or preset, exclude not true/false); logged once each, the records flow as if it were absent."),
		excluded:         m.Drop("excluded"),
		mlTruncated:      tail.MultilineTruncated(m),
	}}
	if err := s.setupRoutes(); err != nil {
		return nil, err
	}
	if pm := cfg.PodMetadata; pm != nil && pm.On() {
		if err := s.setupPods(pm); err != nil {
			return nil, err
		}
	}
	hooks := tail.Hooks{
		Accept: func(path string) bool {
			ref, ok := parsePath(path)
			return ok && filter(ref.Namespace, cfg.IncludeNamespaces, cfg.ExcludeNamespaces) &&
				filter(ref.Pod, cfg.IncludePods, cfg.ExcludePods) &&
				filter(ref.Container, cfg.IncludeContainers, cfg.ExcludeContainers)
		},
		NewDecoder: func(path string) tail.Decoder {
			ref, _ := parsePath(path)
			return s.newDecoder(ref)
		},
	}
	s.Tailer = tail.NewTailer(set, &cfg.Tail, hooks)
	return s, nil
}

// setupRoutes checks that every rules transform reads this source and
// finds the consumers of the records no annotation routes.
func (s *source) setupRoutes() error {
	if len(s.cfg.RulesTransforms) == 0 {
		return nil
	}
	r, ok := s.set.Out.(agent.Router)
	if !ok {
		return fmt.Errorf("rules_transforms: this output cannot route records")
	}
	s.router, s.rules = r, map[string][]string{}
	consumers := r.Consumers()
	for _, name := range s.cfg.RulesTransforms {
		id := agent.ComponentID(agent.KindTransform, "", name)
		if !slices.Contains(consumers, id) {
			return fmt.Errorf("rules_transforms: %s does not read %s: add %s to its inputs, or drop %q from rules_transforms", id, s.set.ID, s.set.ID, name)
		}
		s.rules[name] = []string{id}
	}
	for _, id := range consumers {
		if !slices.ContainsFunc(s.cfg.RulesTransforms, func(n string) bool { return s.rules[n][0] == id }) {
			s.defaultTo = append(s.defaultTo, id)
		}
	}
	if len(s.defaultTo) == 0 {
		s.set.Logger.Warn("every reader of this source is in rules_transforms: the records of containers that pick none are counted and dropped; add a sink or transform that reads this source", "rules_transforms", s.cfg.RulesTransforms)
	}
	return nil
}

// setupPods builds the pod metadata store (its informers start in Run).
func (s *source) setupPods(pm *PodMetadata) error {
	node := pm.NodeName
	if node == "" {
		node = os.Getenv("NODE_NAME")
	}
	if node == "" {
		return fmt.Errorf("pod_metadata: no node name: set NODE_NAME from the downward API (env valueFrom.fieldRef.fieldPath: spec.nodeName), or pod_metadata { node_name = \"...\" }, or turn pod metadata off with pod_metadata { enabled = false }")
	}
	api := pm.api
	if api == nil {
		rc, err := k8smeta.RestConfig(pm.Kubeconfig)
		if err != nil {
			return fmt.Errorf("pod_metadata: %w (or turn pod metadata off with pod_metadata { enabled = false })", err)
		}
		rc.QPS, rc.Burst = float32(pm.QPS), pm.Burst
		if api, err = k8smeta.NewClient(rc, s.set.ID); err != nil {
			return fmt.Errorf("pod_metadata: %w", err)
		}
	}
	s.pods = newPods(s.set, pm, node, api)
	return nil
}

func newPods(set agent.Settings, pm *PodMetadata, node string, api k8smeta.PodsAPI) *k8smeta.Pods {
	m := set.Metrics
	return k8smeta.NewPods(api, k8smeta.PodsOptions{
		NodeName:           node,
		Labels:             k8smeta.KeyFilter{Include: pm.IncludeLabels, Exclude: pm.ExcludeLabels},
		Annotations:        k8smeta.KeyFilter{Include: pm.IncludeAnnotations, Exclude: pm.ExcludeAnnotations},
		MaxAnnotationBytes: *pm.MaxAnnotationBytes,
		NamespaceLabels:    pm.NamespaceLabels,
		DeletedGrace:       pm.grace,
		Logger:             set.Logger,
		Metrics: k8smeta.PodsMetrics{
			Pods:          m.Gauge("kubernetes_logs_metadata_pods", "Pods whose metadata is known (those of this node, and deleted ones within deleted_pod_grace)."),
			Synced:        m.Gauge("kubernetes_logs_metadata_synced", "1 once the first list of this node's pods is in."),
			Deleted:       m.Counter("kubernetes_logs_metadata_deleted_pods_total", "Pods seen deleted; their metadata stays for deleted_pod_grace."),
			APIErrors:     m.Counter("kubernetes_logs_metadata_api_errors_total", "Lists and watches of pods (and namespaces) that failed; retried with backoff."),
			OwnerRequests: m.Counter("kubernetes_logs_metadata_owner_requests_total", "GET requests sent to read ReplicaSets and Jobs (once per owner of a pod of this node)."),
			OwnerErrors:   m.Counter("kubernetes_logs_metadata_owner_errors_total", "Reads of a ReplicaSet or Job (for its Deployment or CronJob) that failed; retried with backoff."),
		},
	})
}

// Run starts the pod metadata, waits up to sync_wait for it, and tails
// until ctx ends. The informers run until the tailing has stopped.
func (s *source) Run(ctx context.Context) error {
	if s.pods != nil {
		k8smeta.LogTo(s.set.Logger)
		mctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.pods.Run(mctx) }()
		defer func() { cancel(); <-done }()
		if wait := s.cfg.PodMetadata.syncWait; wait > 0 && !s.pods.WaitReady(ctx, wait) {
			s.set.Logger.Warn("pod metadata is not ready: lines flow meanwhile, marked "+KeyMetadataMissing, "waited", wait, "synced", s.pods.Synced())
		}
	}
	return s.Tailer.Run(ctx)
}

// control is what a container's annotations ask for.
type control struct {
	exclude   bool
	rules     string                // a rules transform, "" for the default consumers
	multiline *tail.MultilineConfig // nil: the source's multiline block
	noML      bool                  // octoagent.io/multiline: none
}

// controlOf reads the octoagent.io/ annotations of pod for a container;
// values it cannot use are logged (once) and counted, and ignored.
func (s *source) controlOf(pod *k8smeta.Pod, container string) control {
	var c control
	if pod == nil || len(pod.Control) == 0 {
		return c
	}
	get := func(key string) (string, string, bool) {
		if v, ok := pod.Control[key+"-"+container]; ok {
			return key + "-" + container, v, true
		}
		v, ok := pod.Control[key]
		return key, v, ok
	}
	if key, v, ok := get(AnnotationExclude); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			c.exclude = true
		case "false", "":
		default:
			s.annotationError(pod, container, key, v, `use "true" or "false"; the container's logs are not excluded`)
		}
	}
	if key, v, ok := get(AnnotationRules); ok && v != "" {
		if _, known := s.rules[v]; known {
			c.rules = v
		} else {
			hint := "no transform is listed in rules_transforms"
			if len(s.cfg.RulesTransforms) > 0 {
				hint = "rules_transforms lists " + strings.Join(s.cfg.RulesTransforms, ", ")
			}
			s.annotationError(pod, container, key, v, "unknown transform ("+hint+"); the container's records go to the source's other readers")
		}
	}
	if key, v, ok := get(AnnotationMultiline); ok && v != "" {
		if v == tail.PresetNone {
			c.noML = true
		} else if ml, err := s.cfg.Tail.Multiline.WithPreset(v); err == nil {
			c.multiline = ml
		} else {
			s.annotationError(pod, container, key, v, fmt.Sprintf(`unknown multiline preset (known: %s, or %q); the source's multiline settings apply`, strings.Join(tail.Presets(), ", "), tail.PresetNone))
		}
	}
	return c
}

func (s *source) annotationError(pod *k8smeta.Pod, container, key, value, why string) {
	if _, dup := s.reported.LoadOrStore("a\x00"+pod.UID+"\x00"+container+"\x00"+key+"\x00"+value, true); dup {
		return
	}
	s.c.annotationErrors.Inc()
	s.set.Logger.Error("pod annotation has a value the agent cannot use: "+why, "annotation", key, "value", value,
		"namespace", pod.Namespace, "pod", pod.Name, "container", container)
}

// unknownPod logs, once per pod, that a pod's lines carry no metadata.
func (s *source) unknownPod(ref PodRef) {
	if _, dup := s.reported.LoadOrStore("p\x00"+ref.UID, true); dup {
		return
	}
	s.set.Logger.Info("no pod with this uid is known: its lines are marked "+KeyMetadataMissing+"="+MissingUnknownPod,
		"namespace", ref.Namespace, "pod", ref.Pod, "uid", ref.UID)
}

// routeOut sends batches to some consumers of the source only.
type routeOut struct {
	r  agent.Router
	to []string
}

func (o routeOut) Emit(ctx context.Context, b agent.Batch) error { return o.r.EmitTo(ctx, o.to, b) }

// dropOut acknowledges the records of excluded containers as dropped.
type dropOut struct{ c prometheus.Counter }

func (o dropOut) Emit(_ context.Context, b agent.Batch) error {
	o.c.Add(float64(len(b)))
	agent.AckAll(b, agent.Dropped)
	return nil
}

// output is where the records of a container with these controls go.
func (s *source) output(c control, main agent.Output) agent.Output {
	switch {
	case c.exclude:
		return dropOut{s.c.excluded}
	case c.rules != "":
		return routeOut{s.router, s.rules[c.rules]}
	case s.router != nil:
		return routeOut{s.router, s.defaultTo}
	}
	return main
}
