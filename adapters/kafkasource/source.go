package kafkasource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/kafkaclient"
)

// source is one consumer group member. It uses kafka-go's ConsumerGroup
// and Generation directly (not the group Reader): a generation names the
// partitions this member holds, ends when the group rebalances, and
// commits with its own generation id, so the broker refuses a commit from a
// member that no longer holds the partition. Each assigned partition is
// read by a partition Reader and followed by an agent.Tracker of its own.
type source struct {
	cfg    *Config
	set    agent.Settings
	conn   *kafkaclient.Conn
	client *kafkago.Client
	host   string // origin host of every record (see idHost)
	meta   string

	lag, committedOff, assigned *prometheus.GaugeVec
	assignedN                   prometheus.Gauge
	commits, commitErrs         prometheus.Counter
	generations, groupErrs      prometheus.Counter
	fetchErrs, revokedInFlight  prometheus.Counter

	closing   chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	cg        *kafkago.ConsumerGroup
	cur       *generation
}

func newSource(set agent.Settings, cfg *Config) (*source, error) {
	conn, err := cfg.security().Build(cfg.Brokers, cfg.ClientID, cfg.timeout, cfg.refresh)
	if err != nil {
		return nil, err
	}
	m := set.Metrics
	s := &source{
		cfg: cfg, set: set, conn: conn, client: conn.Client(cfg.timeout),
		host:         idHost(cfg.GroupID),
		meta:         cfg.metadataField(),
		lag:          m.GaugeVec("kafka_consumer_lag_records", "Records of a partition held by this member that are not committed yet: high watermark minus the committed offset.", "topic", "partition"),
		committedOff: m.GaugeVec("kafka_consumer_committed_offset", "Offset this member last committed for a partition (the next offset to read).", "topic", "partition"),
		assigned:     m.GaugeVec("kafka_consumer_partition_assigned", "1 for each partition this member holds in the current generation.", "topic", "partition"),
		assignedN:    m.Gauge("kafka_consumer_assigned_partitions", "Partitions this member holds in the current generation."),
		commits:      m.Counter("kafka_consumer_commits_total", "Offset commits the group coordinator accepted."),
		commitErrs:   m.Counter("kafka_consumer_commit_errors_total", "Offset commits that failed (retried at the next commit_interval, or lost to a rebalance: then the records are read again, never skipped)."),
		generations:  m.Counter("kafka_consumer_generations_total", "Group generations this member joined (one per rebalance)."),
		groupErrs:    m.Counter("kafka_consumer_group_errors_total", "Errors joining or syncing the consumer group; the member retries."),
		fetchErrs:    m.Counter("kafka_consumer_fetch_errors_total", "Errors fetching messages or offsets."),
		revokedInFlight: m.Counter("kafka_consumer_revoked_in_flight_batches_total",
			"Batches still unresolved when their partition was revoked or the member stopped: not committed, so the next owner reads them again."),
		closing: make(chan struct{}),
	}
	return s, nil
}

// idHost is the origin host of a Kafka record. A record's id is made from
// its origin, and a Kafka message has one identity in the cluster whatever
// node consumes it: so the host is the group, not the node, and a message
// read again by another member after a rebalance keeps its id (the store
// drops the duplicate).
func idHost(group string) string { return "kafka-group:" + group }

// Run joins the group and consumes what it is assigned until ctx ends (or,
// in once mode, until every assigned partition reached the high watermark
// it had when it was assigned). It returns once nothing more is emitted;
// the member keeps its generation (and commits as records resolve) until
// Close.
func (s *source) Run(ctx context.Context) error {
	for {
		topics, err := s.resolveTopics(ctx)
		if err != nil || ctx.Err() != nil {
			return nil
		}
		cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
			ID: s.cfg.GroupID, Brokers: s.cfg.Brokers, Dialer: s.conn.Dialer, Topics: topics,
			HeartbeatInterval: s.cfg.heartbeat, SessionTimeout: s.cfg.session, RebalanceTimeout: s.cfg.rebalance,
			WatchPartitionChanges: true, PartitionWatchInterval: s.cfg.refresh,
			JoinGroupBackoff: time.Second, Timeout: s.cfg.timeout,
			StartOffset: map[string]int64{"earliest": kafkago.FirstOffset, "latest": kafkago.LastOffset}[s.cfg.StartOffset],
			Logger:      s.conn.Logger(func(m string) { s.set.Logger.Debug(m) }),
			ErrorLogger: s.conn.Logger(func(m string) { s.set.Logger.Debug(m) }),
		})
		if err != nil {
			return fmt.Errorf("consumer group: %w", err)
		}
		s.mu.Lock()
		select {
		case <-s.closing:
			s.mu.Unlock()
			cg.Close()
			return nil
		default:
		}
		s.cg = cg
		s.mu.Unlock()
		changed := s.runGroup(ctx, cg, topics)
		if !changed {
			return nil
		}
		// The topics matching topic_regex changed: leave (revoking every
		// partition, which drains and commits) and join with the new list.
		s.set.Logger.Info("topics matching topic_regex changed; rejoining the group", "topics", topics)
		s.mu.Lock()
		s.cg, s.cur = nil, nil
		s.mu.Unlock()
		cg.Close()
	}
}

// resolveTopics returns the configured topics, or the broker's topics that
// match topic_regex (waiting for at least one).
func (s *source) resolveTopics(ctx context.Context) ([]string, error) {
	if s.cfg.topicRe == nil {
		return s.cfg.Topics, nil
	}
	warned := false
	for {
		ts, err := s.matchingTopics(ctx)
		if err == nil && len(ts) > 0 {
			return ts, nil
		}
		if !warned {
			if err != nil {
				s.set.Logger.Warn("cannot list the broker's topics; retrying", "error", s.conn.Scrub(err.Error()))
			} else {
				s.set.Logger.Warn("no topic matches topic_regex yet; retrying", "topic_regex", s.cfg.TopicRegex, "every", s.cfg.refresh)
			}
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closing:
			return nil, agent.ErrStopped
		case <-time.After(s.cfg.refresh):
		}
	}
}

func (s *source) matchingTopics(ctx context.Context) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	md, err := s.client.Metadata(rctx, &kafkago.MetadataRequest{})
	if err != nil {
		s.fetchErrs.Inc()
		return nil, err
	}
	var out []string
	for _, t := range md.Topics {
		if t.Internal || t.Error != nil || strings.HasPrefix(t.Name, "__") {
			continue
		}
		if s.cfg.topicRe.MatchString(t.Name) {
			out = append(out, t.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// runGroup follows the group's generations. It returns false once the
// source should stop (ctx ended, once mode done, closing), true when the
// topics matching topic_regex changed.
func (s *source) runGroup(ctx context.Context, cg *kafkago.ConsumerGroup, topics []string) bool {
	changed := make(chan struct{})
	if s.cfg.topicRe != nil {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			t := time.NewTicker(s.cfg.refresh)
			defer t.Stop()
			for {
				select {
				case <-wctx.Done():
					return
				case <-t.C:
					ts, err := s.matchingTopics(wctx)
					if err == nil && len(ts) > 0 && !slices.Equal(ts, topics) {
						close(changed)
						return
					}
				}
			}
		}()
	}
	warned := false
	for {
		gctx, cancel := context.WithCancel(ctx)
		stopNext := context.AfterFunc(ctx, cancel)
		go func() {
			select {
			case <-changed:
				cancel()
			case <-gctx.Done():
			}
		}()
		gen, err := cg.Next(gctx)
		stopNext()
		cancel()
		if err != nil {
			select {
			case <-changed:
				return true
			default:
			}
			if ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
				return false
			}
			s.groupErrs.Inc()
			if !warned {
				s.set.Logger.Warn("cannot join the consumer group yet; retrying", "group", s.cfg.GroupID, "error", s.conn.Scrub(err.Error()))
				warned = true
			} else {
				s.set.Logger.Debug("consumer group error", "error", s.conn.Scrub(err.Error()))
			}
			continue
		}
		warned = false
		g := s.startGeneration(ctx, gen)
		select {
		case <-g.emitted:
			// Every partition stopped emitting: ctx ended, or once mode
			// reached the end. The generation stays held until Close.
			if ctx.Err() != nil || s.set.Once {
				return false
			}
			select { // no partition held (more members than partitions)
			case <-g.ended:
			case <-ctx.Done():
				return false
			case <-changed:
				return true
			}
		case <-g.ended:
		case <-changed:
			return true
		}
	}
}

// generation is this member's part of one group generation.
type generation struct {
	gen      *kafkago.Generation
	sessions []*session
	emitWG   sync.WaitGroup
	emitted  chan struct{} // closed when every partition stopped emitting
	drainWG  sync.WaitGroup
	ended    chan struct{} // closed after the final commit

	commitMu sync.Mutex
	final    bool
}

// session is one partition held in one generation.
type session struct {
	topic     string
	partition int
	start     int64 // offset to start from (or kafkago.FirstOffset/LastOffset)
	labels    []string
	tracker   *agent.Tracker[int64]
	fetch     int32 // bytes a fetch asks for: this partition's share of fetch_max_bytes (fetchShare)

	mu          sync.Mutex
	committable int64 // next offset after the longest resolved prefix; -1: none yet
	committed   int64 // last offset the coordinator accepted from us; -1: none
	base        int64 // committed offset at assignment, else the first offset read; -1 unknown
	hwm         atomic.Int64
}

func (s *source) startGeneration(ctx context.Context, gen *kafkago.Generation) *generation {
	s.generations.Inc()
	g := &generation{gen: gen, emitted: make(chan struct{}), ended: make(chan struct{})}
	topics := make([]string, 0, len(gen.Assignments))
	for t := range gen.Assignments {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	var held []string
	for _, t := range topics {
		for _, a := range gen.Assignments[t] {
			ps := &session{topic: t, partition: a.ID, start: a.Offset, committable: -1, committed: -1, base: -1,
				labels: []string{t, strconv.Itoa(a.ID)}}
			if a.Offset >= 0 {
				ps.base = a.Offset
			}
			ps.hwm.Store(-1)
			ps.tracker = agent.NewTracker(s.set.Acks, func(pos int64) {
				ps.mu.Lock()
				if pos > ps.committable {
					ps.committable = pos
				}
				ps.mu.Unlock()
			}, func() {
				s.set.Metrics.StuckStream()
				s.set.Logger.Warn("a record failed: this partition's commits stop here for this generation; it is read again from the last commit at the next start or rebalance",
					"topic", t, "partition", a.ID)
			})
			g.sessions = append(g.sessions, ps)
			s.assigned.WithLabelValues(ps.labels...).Set(1)
			held = append(held, t+"/"+strconv.Itoa(a.ID))
		}
	}
	share := fetchShare(s.cfg.FetchMaxBytes, len(g.sessions))
	for _, ps := range g.sessions {
		ps.fetch = share
	}
	s.assignedN.Set(float64(len(g.sessions)))
	s.set.Logger.Info("joined consumer group generation", "group", gen.GroupID, "generation", gen.ID, "member", gen.MemberID, "partitions", strings.Join(held, ","))
	s.mu.Lock()
	s.cur = g
	s.mu.Unlock()

	g.emitWG.Add(len(g.sessions))
	g.drainWG.Add(len(g.sessions))
	go func() {
		g.emitWG.Wait()
		close(g.emitted)
	}()
	for _, ps := range g.sessions {
		gen.Start(func(gctx context.Context) { s.runPartition(ctx, gctx, g, ps) })
	}
	gen.Start(func(gctx context.Context) { s.commitLoop(gctx, g) })
	return g
}

// runPartition reads one partition while the generation lasts, then holds
// it until the generation ends, waiting for its in-flight records.
func (s *source) runPartition(ctx, gctx context.Context, g *generation, ps *session) {
	defer g.drainWG.Done()
	s.consume(ctx, gctx, ps)
	g.emitWG.Done()
	<-gctx.Done()
	// The partition is revoked (or the member is leaving): wait a while
	// for the records in flight, so that their offsets are committed before
	// the next owner starts; what is still in flight after that is left
	// uncommitted and read again.
	deadline := time.Now().Add(s.cfg.revoke)
	for ps.tracker.Pending() > 0 && !ps.tracker.Stuck() && time.Now().Before(deadline) {
		select {
		case <-s.closing:
			deadline = time.Now()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if n := ps.tracker.Pending(); n > 0 {
		s.revokedInFlight.Add(float64(n))
	}
}

// commitLoop commits the resolved offsets of the generation every
// commit_interval, refreshes the lag every lag_interval, and makes the
// final commit once every partition is drained.
func (s *source) commitLoop(gctx context.Context, g *generation) {
	t := time.NewTicker(s.cfg.commitEvery)
	defer t.Stop()
	lagT := time.NewTicker(s.cfg.lag)
	defer lagT.Stop()
	s.refreshLag(gctx, g)
	for done := false; !done; {
		select {
		case <-gctx.Done():
			done = true
		case <-t.C:
			s.commit(g, false)
		case <-lagT.C:
			s.refreshLag(gctx, g)
		}
	}
	g.drainWG.Wait()
	s.commit(g, true)
	for _, ps := range g.sessions {
		s.lag.DeleteLabelValues(ps.labels...)
		s.committedOff.DeleteLabelValues(ps.labels...)
		s.assigned.DeleteLabelValues(ps.labels...)
	}
	s.assignedN.Set(0)
	s.set.Logger.Info("left consumer group generation", "group", g.gen.GroupID, "generation", g.gen.ID)
	close(g.ended)
}

// commit sends the offsets that advanced since the last commit, with this
// generation's id. After the final commit of a generation nothing more is
// committed with it: late acknowledgements of a revoked partition change
// nothing, and its next owner reads those records again.
func (s *source) commit(g *generation, final bool) {
	g.commitMu.Lock()
	defer g.commitMu.Unlock()
	if g.final {
		return
	}
	if final {
		g.final = true
	}
	offsets := map[string]map[int]int64{}
	type upd struct {
		ps  *session
		off int64
	}
	var ups []upd
	for _, ps := range g.sessions {
		ps.mu.Lock()
		if ps.committable > ps.committed {
			if offsets[ps.topic] == nil {
				offsets[ps.topic] = map[int]int64{}
			}
			offsets[ps.topic][ps.partition] = ps.committable
			ups = append(ups, upd{ps, ps.committable})
		}
		ps.mu.Unlock()
	}
	if len(ups) == 0 {
		return
	}
	if err := g.gen.CommitOffsets(offsets); err != nil {
		s.commitErrs.Inc()
		s.set.Logger.Warn("offset commit failed; the offsets stay uncommitted (retried at the next interval within this generation)",
			"generation", g.gen.ID, "final", final, "error", s.conn.Scrub(err.Error()))
		return
	}
	s.commits.Inc()
	for _, u := range ups {
		u.ps.mu.Lock()
		u.ps.committed = u.off
		u.ps.base = u.off
		u.ps.mu.Unlock()
		s.committedOff.WithLabelValues(u.ps.labels...).Set(float64(u.off))
		s.updateLag(u.ps)
	}
}

func (s *source) updateLag(ps *session) {
	hwm := ps.hwm.Load()
	ps.mu.Lock()
	base := ps.base
	ps.mu.Unlock()
	if hwm < 0 || base < 0 {
		return
	}
	s.lag.WithLabelValues(ps.labels...).Set(float64(max(0, hwm-base)))
}

// refreshLag asks the brokers for the high watermark of every partition
// held: the watermark a fetch returns goes stale while the pipeline pushes
// back and nothing is fetched.
func (s *source) refreshLag(ctx context.Context, g *generation) {
	if len(g.sessions) == 0 {
		return
	}
	ends, err := s.endOffsets(ctx, g.sessions)
	if err != nil {
		return
	}
	for _, ps := range g.sessions {
		if e, ok := ends[ps]; ok && e > ps.hwm.Load() {
			ps.hwm.Store(e)
		}
		s.updateLag(ps)
	}
}

// endOffsets returns the high watermark of each session's partition.
func (s *source) endOffsets(ctx context.Context, sessions []*session) (map[*session]int64, error) {
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for _, ps := range sessions {
		req.Topics[ps.topic] = append(req.Topics[ps.topic], kafkago.LastOffsetOf(ps.partition))
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	resp, err := s.client.ListOffsets(rctx, req)
	if err != nil {
		s.fetchErrs.Inc()
		return nil, err
	}
	out := map[*session]int64{}
	for _, ps := range sessions {
		for _, po := range resp.Topics[ps.topic] {
			if po.Partition == ps.partition && po.Error == nil {
				out[ps] = po.LastOffset
			}
		}
	}
	return out, nil
}

// consume reads one partition and emits batches until ctx ends (intake
// stops), the generation ends, or, in once mode, the partition reached
// its end.
func (s *source) consume(ctx, gctx context.Context, ps *session) {
	end := int64(-1)
	if s.set.Once {
		for {
			ends, err := s.endOffsets(gctx, []*session{ps})
			if e, ok := ends[ps]; err == nil && ok {
				end = e
				break
			}
			select {
			case <-gctx.Done():
				return
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if ps.start == kafkago.LastOffset || (ps.start >= 0 && ps.start >= end) || end == 0 {
			return
		}
	}
	stop, cancel := context.WithCancel(gctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()

	cl, err := s.partitionClient(ps)
	if err != nil {
		s.set.Logger.Warn("cannot read the partition", "topic", ps.topic, "partition", ps.partition, "error", s.conn.Scrub(err.Error()))
		return
	}
	defer cl.Close()
	batch := make([]*kgo.Record, 0, s.cfg.BatchMaxRecords)
	full := func() bool {
		return len(batch) >= s.cfg.BatchMaxRecords || (end >= 0 && batch[len(batch)-1].Offset+1 >= end)
	}
	// poll appends what the client fetched (up to a full batch) to batch,
	// waiting until pctx ends for at least one message; it reports false
	// once pctx ended.
	poll := func(pctx context.Context) bool {
		fs := cl.PollRecords(pctx, s.cfg.BatchMaxRecords-len(batch))
		for _, t := range fs {
			for i := range t.Topics {
				for j := range t.Topics[i].Partitions {
					p := &t.Topics[i].Partitions[j]
					if p.Err != nil && pctx.Err() == nil && !errors.Is(p.Err, context.Canceled) && !errors.Is(p.Err, context.DeadlineExceeded) {
						// The client retries on its own; counted and logged.
						s.fetchErrs.Inc()
						s.set.Logger.Warn("fetch failed; retrying", "topic", ps.topic, "partition", ps.partition, "error", s.conn.Scrub(p.Err.Error()))
					}
					if p.HighWatermark > ps.hwm.Load() {
						ps.hwm.Store(p.HighWatermark)
					}
					batch = append(batch, p.Records...)
				}
			}
		}
		return pctx.Err() == nil
	}
	for {
		batch = batch[:0]
		for len(batch) == 0 {
			if !poll(stop) {
				return
			}
		}
		if !full() {
			bctx, bcancel := context.WithTimeout(stop, s.cfg.batchTimeout)
			for !full() && poll(bctx) {
			}
			bcancel()
		}
		if gctx.Err() != nil && ctx.Err() == nil {
			// Revoked while reading: the batch is not ours to hand on; the
			// next owner reads it from the last commit.
			return
		}
		// In once mode, the partition is done at the end it had when it
		// was assigned, and nothing past that end is handed on.
		done := end >= 0 && batch[len(batch)-1].Offset+1 >= end
		for end >= 0 && len(batch) > 0 && batch[len(batch)-1].Offset >= end {
			batch = batch[:len(batch)-1]
		}
		if len(batch) > 0 {
			s.emit(ctx, ps, batch)
		}
		if done {
			return
		}
		if stop.Err() != nil {
			return
		}
	}
}

// partitionClient returns a franz-go client that fetches one partition
// from where the generation says this member starts (no group of its
// own: membership and commits are the ConsumerGroup's). It hands on the
// messages of whole fetched batches, decoded into one slice per batch.
func (s *source) partitionClient(ps *session) (*kgo.Client, error) {
	opts, err := s.cfg.security().ClientOpts(s.cfg.Brokers, s.cfg.ClientID, s.cfg.timeout)
	if err != nil {
		return nil, err
	}
	reset := kgo.NewOffset().AtStart()
	if s.cfg.StartOffset == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	start := kgo.NewOffset().At(ps.start)
	switch ps.start {
	case kafkago.FirstOffset:
		start = kgo.NewOffset().AtStart()
	case kafkago.LastOffset:
		start = kgo.NewOffset().AtEnd()
	}
	opts = append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{ps.topic: {int32(ps.partition): start}}),
		// A committed offset the broker no longer has (retention deleted
		// it) resumes where start_offset says.
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxBytes(ps.fetch),
		kgo.FetchMaxPartitionBytes(ps.fetch),
		kgo.FetchMaxWait(s.cfg.maxWait),
		kgo.RetryTimeout(s.cfg.timeout),
		kgo.RetryBackoffFn(func(n int) time.Duration { return min(100*time.Millisecond<<min(max(n-1, 0), 4), time.Second) }),
		kgo.MetadataMinAge(min(s.cfg.refresh, 5*time.Second)),
		kgo.WithLogger(s.conn.KgoLogger(func(m string) { s.set.Logger.Debug(m) })),
	)
	return kgo.NewClient(opts...)
}

// Bounds of a partition's share of fetch_max_bytes (fetchShare).
const (
	minFetchShare = 64 << 10
	maxFetchShare = 1 << 20
)

// fetchShare returns how many bytes each of the n partitions a member
// holds asks for per fetch, so that the member's fetched-ahead bytes stay
// within fetchMax whatever n is (Kafka's fetch.max.bytes, across the whole
// fetch): fetchMax split evenly, at most 1 MiB (more reads no faster and
// only holds more decompressed batches ahead of the pipeline), at least
// 64 KiB (below that, fetches get too small to keep up), never above
// fetchMax itself. A record batch larger than the share is still fetched
// whole, as Kafka does. Each partition's client holds at most one fetched
// response ahead of what it handed on.
func fetchShare(fetchMax, n int) int32 {
	share := fetchMax / max(n, 1)
	share = min(max(share, minFetchShare), maxFetchShare, fetchMax)
	return int32(share)
}

func (s *source) emit(ctx context.Context, ps *session, msgs []*kgo.Record) {
	last := msgs[len(msgs)-1]
	ps.mu.Lock()
	if ps.base < 0 {
		ps.base = msgs[0].Offset
	}
	ps.mu.Unlock()
	s.updateLag(ps)
	tok := ps.tracker.Track(len(msgs), last.Offset+1)
	now := time.Now()
	stream := ps.topic + "/" + strconv.Itoa(ps.partition)
	recs := make(agent.Batch, len(msgs))
	var metas []meta
	if s.meta != "" {
		metas = make([]meta, len(msgs)) // one allocation per batch
	}
	for i, m := range msgs {
		value := m.Value
		if value == nil {
			value = []byte{}
		}
		recs[i] = agent.Record{
			Time: now, Raw: value,
			Origin: agent.Origin{Host: s.host, Component: s.set.ID, Stream: stream, Offset: m.Offset,
				Topic: ps.topic, Partition: int32(ps.partition)},
		}
		if metas != nil {
			metas[i] = meta{name: s.meta, m: m}
			recs[i].SetRawFields(&metas[i])
		}
		recs[i].SetToken(tok)
	}
	_ = s.set.Out.Emit(ctx, recs)
}

// meta is a message's metadata, the record's `kafka` field (metadata_field):
// the record stays a raw line (parse steps take it as they take a file's
// line), and the field is built only when something reads the raw
// record's fields (agent.RawFields). It points to the fetched message (the
// client fills in its topic and partition), which is never modified after
// it was handed on.
type meta struct {
	name string
	m    *kgo.Record
}

// AddRawFields adds the metadata field to m.
func (x *meta) AddRawFields(m map[string]any) {
	r := x.m
	md := map[string]any{
		"topic": r.Topic, "partition": int64(r.Partition), "offset": r.Offset,
		"timestamp": r.Timestamp.UTC(),
	}
	if r.Key != nil {
		md["key"] = string(r.Key)
	}
	if len(r.Headers) > 0 {
		h := make(map[string]any, len(r.Headers))
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		md["headers"] = h
	}
	m[x.name] = md
}

// Close commits what resolved since the last commit, then leaves the group
// (which ends the generation: its final commit covers any stragglers).
func (s *source) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closing)
		g, cg := s.cur, s.cg
		s.mu.Unlock()
		if g != nil {
			s.commit(g, false)
		}
		if cg != nil {
			cg.Close()
		}
	})
	return nil
}
