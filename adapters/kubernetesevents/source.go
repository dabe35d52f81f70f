package kubernetesevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta"
)

// checkpointKey is the one entry of the source's checkpoint file.
const checkpointKey = "resource_version"

// checkpoint is what the source commits: the resourceVersion up to which
// every event was acknowledged, and what it was a position in.
type checkpoint struct {
	ResourceVersion string `json:"resource_version"`
	API             string `json:"api"`
	Namespace       string `json:"namespace"`
	FieldSelector   string `json:"field_selector"`
}

type counters struct {
	lists, expired, listErrors, watchErrors, watchRestarts, bookmarks, duplicates prometheus.Counter
	leaderAcquired, ownerErrors                                                   prometheus.Counter
	leader                                                                        prometheus.Gauge
}

type source struct {
	set agent.Settings
	cfg *Config
	c   counters

	mu  sync.Mutex // guards cs and res while Run sets them up
	cs  k8smeta.API
	api string
	res *k8smeta.Resolver

	collectMu sync.Mutex // one collector at a time (leader terms)
	tracker   *agent.Tracker[string]
	// Only the collecting goroutine touches these.
	seen   map[string]int64 // uid → highest occurrence emitted
	safeRV string           // the resourceVersion a batch emitted now may commit
}

func newSource(set agent.Settings, cfg *Config) (*source, error) {
	m := set.Metrics
	s := &source{set: set, cfg: cfg, seen: map[string]int64{}}
	s.c = counters{
		lists:          m.Counter("kubernetes_events_lists_total", "Full lists of the events (at start, after 410 Gone, on becoming leader)."),
		expired:        m.Counter("kubernetes_events_expired_total", "Watches refused or ended with 410 Gone (resourceVersion too old); each is followed by a re-list."),
		listErrors:     m.Counter("kubernetes_events_list_errors_total", "Lists that failed; they are retried with backoff."),
		watchErrors:    m.Counter("kubernetes_events_watch_errors_total", "Watches that could not start or ended with an error other than 410; retried with backoff."),
		watchRestarts:  m.Counter("kubernetes_events_watch_restarts_total", "Watches started again from the last resourceVersion (timeout, closed connection, error)."),
		bookmarks:      m.Counter("kubernetes_events_bookmarks_total", "Watch bookmarks received."),
		duplicates:     m.Counter("kubernetes_events_duplicates_skipped_total", "Event occurrences seen again (re-list, watch restart) and not emitted twice."),
		leaderAcquired: m.Counter("kubernetes_events_leader_acquired_total", "Times this replica became the leader."),
		ownerErrors:    m.Counter("kubernetes_events_owner_errors_total", "Owner chains that could not be read; the record is emitted without them."),
		leader:         m.Gauge("kubernetes_events_leader", "1 while this replica collects (it holds the Lease, or leader election is off)."),
	}
	s.tracker = agent.NewTracker(set.Acks, s.commit, func() {
		set.Metrics.StuckStream()
		set.Logger.Warn("an event record failed: the resourceVersion is not committed past it for the rest of the run, so the next start reads it again")
	})
	return s, nil
}

// commit is the tracker's callback: every record up to rv is acknowledged.
func (s *source) commit(rv string) {
	if rv == "" || s.set.Checkpoints == nil {
		return
	}
	s.set.Checkpoints.Commit(checkpointKey, checkpoint{ResourceVersion: rv, API: s.api, Namespace: s.cfg.Namespace, FieldSelector: s.cfg.FieldSelector})
}

// commitIfIdle commits rv (a bookmark, a list with nothing new) when no
// batch is waiting for its acknowledgement.
func (s *source) commitIfIdle(rv string) {
	if s.tracker.Pending() == 0 && !s.tracker.Stuck() {
		s.commit(rv)
	}
}

func (s *source) setup() error {
	s.mu.Lock()
	cs := s.cs // set beforehand by tests
	s.mu.Unlock()
	if cs == nil {
		rc, err := k8smeta.RestConfig(s.cfg.Kubeconfig)
		if err != nil {
			return err
		}
		rc.QPS, rc.Burst = float32(s.cfg.QPS), s.cfg.Burst
		if cs, err = k8smeta.NewClient(rc, s.set.ID); err != nil {
			return err
		}
	}
	m := s.set.Metrics
	res := k8smeta.NewResolver(cs, s.cfg.cacheTTL, s.cfg.OwnerCacheMax, k8smeta.Metrics{
		Requests: m.Counter("kubernetes_events_owner_api_requests_total", "GET requests sent to the API server to read owners (enrich_owners)."),
		Hits:     m.Counter("kubernetes_events_owner_cache_hits_total", "Owner lookups answered from the cache."),
		Misses:   m.Counter("kubernetes_events_owner_cache_misses_total", "Owner lookups that needed a GET."),
	})
	s.mu.Lock()
	s.cs, s.res = cs, res
	s.mu.Unlock()
	return nil
}

// detectAPI picks events.k8s.io/v1 when the server serves it (api = "auto").
func (s *source) detectAPI(ctx context.Context) error {
	if s.cfg.API != "auto" {
		s.api = s.cfg.API
		return nil
	}
	b := s.newBackoff()
	for {
		ok, err := s.cs.ServesResource(ctx, "events.k8s.io/v1", "events")
		if err == nil {
			s.api = "v1"
			if ok {
				s.api = "events.k8s.io/v1"
			}
			return nil
		}
		s.set.Logger.Warn("cannot reach the API server to discover the events API; retrying", "error", err)
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}

// Run collects until ctx ends: alone, or while this replica holds the Lease.
func (s *source) Run(ctx context.Context) error {
	// client-go's REST client logs through klog (throttling, warnings):
	// send it to the agent's log instead of bare stderr.
	k8smeta.LogTo(s.set.Logger)
	if err := s.setup(); err != nil {
		return err
	}
	if err := s.detectAPI(ctx); err != nil {
		return err
	}
	s.set.Logger.Info("watching events", "api", s.api, "namespace", s.cfg.Namespace, "field_selector", s.cfg.FieldSelector)
	if s.cfg.LeaderElection == nil || s.set.Once {
		s.c.leader.Set(1)
		defer s.c.leader.Set(0)
		return s.collect(ctx, false)
	}
	return s.runElected(ctx)
}

// backoff is a capped exponential backoff with jitter.
type backoff struct {
	d, max time.Duration
}

func (s *source) newBackoff() *backoff {
	return &backoff{d: 200 * time.Millisecond, max: s.cfg.backoffMax}
}

func (b *backoff) reset() { b.d = 200 * time.Millisecond }

// wait sleeps the current delay (with up to 50% jitter) and doubles it;
// it reports false if ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	d := b.d + time.Duration(rand.Int64N(int64(b.d)/2+1))
	if b.d *= 2; b.d > b.max {
		b.d = b.max
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// collect lists and watches until ctx ends. relist forces a full list
// first (a new leader covers the gap since the last one).
func (s *source) collect(ctx context.Context, relist bool) error {
	rv := ""
	var ck checkpoint
	haveCk := s.set.Checkpoints != nil && s.set.Checkpoints.Load(checkpointKey, &ck)
	if haveCk && (ck.API != s.api || ck.Namespace != s.cfg.Namespace || ck.FieldSelector != s.cfg.FieldSelector) {
		s.set.Logger.Info("checkpoint is for another API or filter; listing again", "checkpoint", ck)
		haveCk = false
	}
	if haveCk && !relist && !s.set.Once {
		rv = ck.ResourceVersion
		s.safeRV = rv
		s.set.Logger.Info("resuming from the committed resourceVersion", "resource_version", rv)
	}
	// start_at = "end" skips what the first list returns, only when there
	// is no checkpoint and no election gap to cover.
	skipFirst := !haveCk && !relist && s.cfg.StartAt == "end" && s.cfg.LeaderElection == nil
	b := s.newBackoff()
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			rv, err = s.list(ctx, !skipFirst)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				if errors.Is(err, errEmit) {
					return nil
				}
				s.c.listErrors.Inc()
				s.set.Metrics.Error("list")
				s.set.Logger.Warn("listing events failed; retrying", "error", err, "retry_in", b.d)
				if !b.wait(ctx) {
					break
				}
				continue
			}
			skipFirst = false
			b.reset()
			if s.set.Once {
				return nil
			}
		}
		next, err := s.watch(ctx, rv)
		switch {
		case errors.Is(err, errEmit):
			return nil
		case errors.Is(err, errGone):
			s.c.expired.Inc()
			s.set.Logger.Info("resourceVersion expired (410 Gone); listing again", "resource_version", rv)
			rv = ""
			continue
		case err != nil && ctx.Err() == nil:
			s.c.watchErrors.Inc()
			s.set.Metrics.Error("watch")
			s.set.Logger.Warn("watch failed; retrying from the last resourceVersion", "error", err, "resource_version", next, "retry_in", b.d)
			rv = next
			if !b.wait(ctx) {
				return nil
			}
			continue
		}
		if next != rv {
			b.reset()
		}
		rv = next
		s.c.watchRestarts.Inc()
	}
	return nil
}

var (
	errGone = errors.New("resource version expired")
	errEmit = errors.New("emit failed at the drain deadline")
)

func isGone(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}

// list lists every event page by page, emitting the pages (unless emit is
// false), and returns the list's resourceVersion.
func (s *source) list(ctx context.Context, emit bool) (string, error) {
	s.c.lists.Inc()
	present := map[string]bool{}
	opts := metav1.ListOptions{FieldSelector: s.cfg.FieldSelector, Limit: int64(s.cfg.ListPageSize)}
	for {
		evs, rv, cont, err := s.listPage(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range evs {
			present[evs[i].UID] = true
		}
		if cont == "" {
			// The last page: the whole list is emitted once it is
			// acknowledged, so its resourceVersion may be committed.
			if emit {
				if err := s.emit(ctx, evs, rv); err != nil {
					return "", err
				}
			} else {
				s.markSeen(evs)
			}
			s.safeRV = rv
			for uid := range s.seen {
				if !present[uid] {
					delete(s.seen, uid)
				}
			}
			if !emit || len(evs) == 0 {
				s.commitIfIdle(rv)
			}
			return rv, nil
		}
		if emit {
			if err := s.emit(ctx, evs, s.safeRV); err != nil {
				return "", err
			}
		} else {
			s.markSeen(evs)
		}
		opts.Continue = cont
	}
}

func (s *source) listPage(ctx context.Context, opts metav1.ListOptions) ([]Event, string, string, error) {
	var evs []Event
	if s.api == "events.k8s.io/v1" {
		l, err := s.cs.ListEventsV1(ctx, s.cfg.Namespace, opts)
		if err != nil {
			return nil, "", "", err
		}
		for i := range l.Items {
			evs = append(evs, fromEventsV1(&l.Items[i]))
		}
		return evs, l.ResourceVersion, l.Continue, nil
	}
	l, err := s.cs.ListCoreEvents(ctx, s.cfg.Namespace, opts)
	if err != nil {
		return nil, "", "", err
	}
	for i := range l.Items {
		evs = append(evs, fromCoreV1(&l.Items[i]))
	}
	return evs, l.ResourceVersion, l.Continue, nil
}

// watch watches from rv until the watch ends and returns the last
// resourceVersion seen. errGone asks for a re-list.
func (s *source) watch(ctx context.Context, rv string) (string, error) {
	timeout := int64(s.cfg.watchTimeout/time.Second) + rand.Int64N(int64(s.cfg.watchTimeout/time.Second)/5+1)
	opts := metav1.ListOptions{FieldSelector: s.cfg.FieldSelector, ResourceVersion: rv, AllowWatchBookmarks: true, TimeoutSeconds: &timeout}
	var w watch.Interface
	var err error
	if s.api == "events.k8s.io/v1" {
		w, err = s.cs.WatchEventsV1(ctx, s.cfg.Namespace, opts)
	} else {
		w, err = s.cs.WatchCoreEvents(ctx, s.cfg.Namespace, opts)
	}
	if err != nil {
		if isGone(err) {
			return rv, errGone
		}
		return rv, err
	}
	defer w.Stop()
	ch := w.ResultChan()
	var pending []Event
	for {
		var ev watch.Event
		var ok bool
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return rv, nil
			case ev, ok = <-ch:
			}
		} else {
			select {
			case ev, ok = <-ch:
			default:
				// Nothing more waiting: emit what was gathered.
				if err := s.emit(ctx, pending, rv); err != nil {
					return rv, err
				}
				s.safeRV = rv
				pending = pending[:0]
				continue
			}
		}
		if !ok {
			if len(pending) > 0 {
				if err := s.emit(ctx, pending, rv); err != nil {
					return rv, err
				}
				s.safeRV = rv
			}
			return rv, nil
		}
		if ev.Type == watch.Error {
			if len(pending) > 0 {
				if err := s.emit(ctx, pending, rv); err != nil {
					return rv, err
				}
				s.safeRV = rv
			}
			werr := apierrors.FromObject(ev.Object)
			if isGone(werr) {
				return rv, errGone
			}
			return rv, fmt.Errorf("watch error: %w", werr)
		}
		acc, err := meta.Accessor(ev.Object)
		if err != nil {
			continue
		}
		rv = acc.GetResourceVersion()
		switch ev.Type {
		case watch.Bookmark:
			s.c.bookmarks.Inc()
			if len(pending) == 0 {
				s.safeRV = rv
				s.commitIfIdle(rv)
			}
		case watch.Deleted:
			delete(s.seen, string(acc.GetUID()))
		case watch.Added, watch.Modified:
			switch o := ev.Object.(type) {
			case *eventsv1.Event:
				pending = append(pending, fromEventsV1(o))
			case *corev1.Event:
				pending = append(pending, fromCoreV1(o))
			}
		}
		if len(pending) >= s.cfg.BatchMaxRecords {
			if err := s.emit(ctx, pending, rv); err != nil {
				return rv, err
			}
			s.safeRV = rv
			pending = pending[:0]
		}
	}
}

func (s *source) markSeen(evs []Event) {
	for i := range evs {
		if evs[i].Count > s.seen[evs[i].UID] {
			s.seen[evs[i].UID] = evs[i].Count
		}
	}
}

// emit turns the occurrences not emitted yet into records and hands them
// on as one batch that commits pos once acknowledged.
func (s *source) emit(ctx context.Context, evs []Event, pos string) error {
	batch := make(agent.Batch, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		if s.seen[ev.UID] >= ev.Count {
			s.c.duplicates.Inc()
			continue
		}
		s.seen[ev.UID] = ev.Count
		if s.cfg.EnrichOwners {
			s.enrich(ctx, ev)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			s.set.Metrics.Error("encode")
			continue
		}
		batch = append(batch, agent.Record{
			Time: ev.Time(),
			Kind: agent.KindRaw,
			Raw:  raw,
			Origin: agent.Origin{
				// The cluster, not the node: every replica gives an event
				// the same id, so a failover's duplicates carry the same ids.
				Host:      s.cfg.Cluster,
				Component: s.set.ID,
				Stream:    ev.UID,
				Offset:    ev.Count,
				Path:      ev.Namespace + "/" + ev.Name,
			},
		})
	}
	if len(batch) == 0 {
		if pos != "" {
			s.commitIfIdle(pos)
		}
		return nil
	}
	tok := s.tracker.Track(len(batch), pos)
	for i := range batch {
		batch[i].SetToken(tok)
	}
	if err := s.set.Out.Emit(ctx, batch); err != nil {
		return fmt.Errorf("%w: %v", errEmit, err)
	}
	return nil
}

var workloadKinds = map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "CronJob": true, "Job": true, "ReplicaSet": true}

func (s *source) enrich(ctx context.Context, ev *Event) {
	r := ev.Regarding
	ns := r.Namespace
	if ns == "" {
		ns = ev.Namespace
	}
	info, err := s.res.Resolve(ctx, k8smeta.Ref{Kind: r.Kind, Namespace: ns, Name: r.Name, UID: r.UID})
	if err != nil {
		s.c.ownerErrors.Inc()
		s.set.Logger.Debug("cannot read the owner chain", "kind", r.Kind, "namespace", ns, "name", r.Name, "error", err)
	}
	ev.Owners, ev.Images = info.Owners, info.Images
	if n := len(info.Owners); n > 0 {
		ev.WorkloadKind, ev.WorkloadName = info.Owners[n-1].Kind, info.Owners[n-1].Name
	} else if workloadKinds[r.Kind] {
		ev.WorkloadKind, ev.WorkloadName = r.Kind, r.Name
	}
	if ev.Reason == "ScalingReplicaSet" && r.Kind == "Deployment" {
		s.enrichRollout(ctx, ev, ns)
	}
}

// scaledRe finds the ReplicaSet in a ScalingReplicaSet note: "Scaled up
// replica set api-7f9c from 0 to 1".
var scaledRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`replica set (\S+)`) })

// enrichRollout reads the ReplicaSet a Deployment's ScalingReplicaSet
// event scaled (through the same cache): its revision and images are the
// rollout's, whatever the Deployment holds by now.
func (s *source) enrichRollout(ctx context.Context, ev *Event, ns string) {
	m := scaledRe().FindStringSubmatch(ev.Note)
	if m == nil {
		return
	}
	ro := &Rollout{ReplicaSet: m[1]}
	info, err := s.res.Resolve(ctx, k8smeta.Ref{Kind: "ReplicaSet", Namespace: ns, Name: m[1]})
	if err != nil {
		s.c.ownerErrors.Inc()
		s.set.Logger.Debug("cannot read the scaled ReplicaSet", "namespace", ns, "name", m[1], "error", err)
	}
	ro.Images = info.Images
	if n, err := strconv.ParseInt(info.Revision, 10, 64); err == nil {
		ro.Revision = n
	}
	ev.Rollout = ro
}

// identity is this replica's name in the Lease.
func (s *source) identity() string {
	if id := s.cfg.LeaderElection.Identity; id != "" {
		return id
	}
	h := os.Getenv("POD_NAME")
	if h == "" {
		h, _ = os.Hostname()
	}
	return h + "_" + strconv.Itoa(os.Getpid())
}
