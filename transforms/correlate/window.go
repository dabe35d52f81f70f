package correlate

import (
	"container/heap"
	"encoding/json"
	"sort"
	"time"

	"github.com/octostore/agent/agent"
)

// entry is one remembered record: what the config keeps of it.
type entry struct {
	Key    string         `json:"key"`
	ID     string         `json:"id"`
	Kind   string         `json:"kind"`
	Time   time.Time      `json:"time"`
	Seq    uint64         `json:"seq"`
	Fields map[string]any `json:"fields"`

	size int64
	at   int // index in the window's heap
}

// answer is one answer given: the record emitted for a trigger, kept so
// that the same trigger read again (after a restart, a re-list) gets the
// same record back, and so that `once` knows what it answered.
type answer struct {
	Trigger string          `json:"trigger"`
	Once    string          `json:"once,omitempty"`
	Time    time.Time       `json:"time"`
	Seq     uint64          `json:"seq"`
	Record  json.RawMessage `json:"record"`

	size int64
	at   int // index in the window's heap
}

// limits bound the window.
type limits struct {
	maxPerKey  int
	maxAge     time.Duration
	maxEntries int
	maxBytes   int64
	maxAnswers int
}

// window is correlate's state: the remembered records per key, newest
// last, and the answers given. Every bound is enforced on every change:
// the oldest (by record time, then arrival) go first, and each eviction is
// counted by reason. Evicting by time rather than by arrival keeps the
// window the same when records are read again after a crash: a record
// already evicted comes back as the oldest, and goes again.
type window struct {
	lim       limits
	keys      map[string][]*entry // by key, sorted by (time, seq)
	byID      map[string]*entry   // key + "\x00" + record id
	entries   *queue[*entry]      // every entry, oldest first
	answers   map[string]*answer  // by trigger id
	once      map[string]*answer  // by once value
	ans       *queue[*answer]     // answers, oldest first
	bytes     int64
	seq       uint64
	watermark time.Time // the newest record time seen (not past now + 1m)
	now       func() time.Time
	evicted   func(reason string)
}

func newWindow(lim limits, evicted func(string)) *window {
	return &window{lim: lim, keys: map[string][]*entry{}, byID: map[string]*entry{},
		entries: &queue[*entry]{less: before, place: func(e *entry, i int) { e.at = i }},
		answers: map[string]*answer{}, once: map[string]*answer{},
		ans: &queue[*answer]{less: beforeAnswer, place: func(a *answer, i int) { a.at = i }},
		now: time.Now, evicted: evicted}
}

// entryOverhead and answerOverhead estimate the memory of an entry or an
// answer beyond its encoded fields: the structs, map slots, list element.
const (
	entryOverhead  = 256
	answerOverhead = 160
)

// remember adds e under its key, unless a record with its id is there
// already (read again after a restart): then it reports false.
func (w *window) remember(e *entry) bool {
	k := e.Key + "\x00" + e.ID
	if _, ok := w.byID[k]; ok {
		return false
	}
	if e.Seq == 0 {
		w.seq++
		e.Seq = w.seq
	}
	if e.size == 0 {
		b, _ := json.Marshal(e.Fields)
		e.size = int64(len(b)+len(e.Key)+len(e.ID)+len(e.Kind)) + entryOverhead
	}
	w.observe(e.Time)
	list := w.keys[e.Key]
	i := sort.Search(len(list), func(i int) bool { return !before(list[i], e) })
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = e
	w.keys[e.Key] = list
	w.byID[k] = e
	heap.Push(w.entries, e)
	w.bytes += e.size
	for len(w.keys[e.Key]) > w.lim.maxPerKey {
		w.drop(w.keys[e.Key][0], "max_per_key")
	}
	w.expire()
	w.trim()
	return true
}

func before(a, b *entry) bool { return earlier(a.Time, a.Seq, b.Time, b.Seq) }

func beforeAnswer(a, b *answer) bool { return earlier(a.Time, a.Seq, b.Time, b.Seq) }

// earlier orders by time, then by arrival.
func earlier(at time.Time, aseq uint64, bt time.Time, bseq uint64) bool {
	if !at.Equal(bt) {
		return at.Before(bt)
	}
	return aseq < bseq
}

// observe advances the watermark. A record time more than a minute ahead
// of the clock does not: one record from the future must not age out the
// whole window.
func (w *window) observe(t time.Time) {
	if lim := w.now().Add(time.Minute); t.After(lim) {
		t = lim
	}
	if t.After(w.watermark) {
		w.watermark = t
	}
}

// expire drops the entries older than max_age before the watermark, of
// every key: the oldest are at the top of the heap.
func (w *window) expire() {
	cut := w.watermark.Add(-w.lim.maxAge)
	for w.entries.Len() > 0 && w.entries.items[0].Time.Before(cut) {
		w.drop(w.entries.items[0], "max_age")
	}
	w.trimAnswers()
}

// trim evicts the oldest entries or answers while the window is over
// max_entries or max_bytes.
func (w *window) trim() {
	for w.entries.Len() > w.lim.maxEntries {
		w.drop(w.entries.items[0], "max_entries")
	}
	for w.bytes > w.lim.maxBytes {
		switch {
		case w.entries.Len() > 0 && (w.ans.Len() == 0 || !w.ans.items[0].Time.Before(w.entries.items[0].Time)):
			w.drop(w.entries.items[0], "max_bytes")
		case w.ans.Len() > 0:
			w.dropAnswer(w.ans.items[0], "max_bytes")
		default:
			return
		}
	}
}

func (w *window) drop(e *entry, reason string) {
	l := w.keys[e.Key]
	for i, x := range l {
		if x == e {
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(w.keys, e.Key)
	} else {
		w.keys[e.Key] = l
	}
	delete(w.byID, e.Key+"\x00"+e.ID)
	heap.Remove(w.entries, e.at)
	w.bytes -= e.size
	if w.evicted != nil {
		w.evicted(reason)
	}
}

// matches returns the entries of key that a trigger at t sees: at or
// before t, no older than max_age before it, newest first, at most limit.
func (w *window) matches(key string, t time.Time, limit int) []*entry {
	l := w.keys[key]
	cut := t.Add(-w.lim.maxAge)
	var out []*entry
	for i := len(l) - 1; i >= 0 && len(out) < limit; i-- {
		e := l[i]
		if e.Time.After(t) {
			continue
		}
		if e.Time.Before(cut) {
			break
		}
		out = append(out, e)
	}
	return out
}

// answered returns the answer given to the trigger with this id.
func (w *window) answered(trigger string) *answer { return w.answers[trigger] }

// answeredOnce returns the answer given for this once value.
func (w *window) answeredOnce(once string) *answer { return w.once[once] }

// keep stores an answer, evicting the oldest beyond max_answers.
func (w *window) keep(a *answer) {
	if old := w.answers[a.Trigger]; old != nil {
		w.dropAnswer(old, "")
	}
	if a.Seq == 0 {
		w.seq++
		a.Seq = w.seq
	}
	a.size = int64(len(a.Record)+len(a.Trigger)+len(a.Once)) + answerOverhead
	w.observe(a.Time)
	w.answers[a.Trigger] = a
	if a.Once != "" {
		w.once[a.Once] = a
	}
	heap.Push(w.ans, a)
	w.bytes += a.size
	w.expire()
	w.trim()
}

// trimAnswers keeps max_answers answers, and none older than max_age
// before the watermark (a once value is answered again after that).
func (w *window) trimAnswers() {
	for w.ans.Len() > w.lim.maxAnswers {
		w.dropAnswer(w.ans.items[0], "max_answers")
	}
	cut := w.watermark.Add(-w.lim.maxAge)
	for w.ans.Len() > 0 && w.ans.items[0].Time.Before(cut) {
		w.dropAnswer(w.ans.items[0], "max_age")
	}
}

func (w *window) dropAnswer(a *answer, reason string) {
	delete(w.answers, a.Trigger)
	if a.Once != "" && w.once[a.Once] == a {
		delete(w.once, a.Once)
	}
	heap.Remove(w.ans, a.at)
	w.bytes -= a.size
	if reason != "" && w.evicted != nil {
		w.evicted("answer_" + reason)
	}
}

// size reports the entries and answers held, and their estimated bytes.
func (w *window) size() (entries, answers int, bytes int64) {
	return w.entries.Len(), w.ans.Len(), w.bytes
}

// saved is the window as the state file holds it.
type saved struct {
	Seq         uint64    `json:"seq"`
	Watermark   time.Time `json:"watermark"`
	Entries     []*entry  `json:"entries"`
	AnswerPrint string    `json:"answer_fingerprint"`
	Answers     []*answer `json:"answers"`
}

func (w *window) save(answerPrint string) *saved {
	s := &saved{Seq: w.seq, Watermark: w.watermark, AnswerPrint: answerPrint,
		Entries: append([]*entry(nil), w.entries.items...), Answers: append([]*answer(nil), w.ans.items...)}
	sort.Slice(s.Entries, func(i, j int) bool { return s.Entries[i].Seq < s.Entries[j].Seq })
	sort.Slice(s.Answers, func(i, j int) bool { return s.Answers[i].Seq < s.Answers[j].Seq })
	return s
}

// load fills an empty window from a saved one, in arrival order, under
// the current limits. Answers made under another trigger config are left
// out.
func (w *window) load(s *saved, answerPrint string) {
	w.watermark = s.Watermark
	for _, e := range s.Entries {
		if e == nil || e.Seq == 0 {
			continue
		}
		if e.Fields == nil {
			e.Fields = map[string]any{}
		}
		agent.Normalize(e.Fields)
		e.Time = e.Time.UTC()
		w.remember(e)
	}
	if s.AnswerPrint == answerPrint {
		for _, a := range s.Answers {
			if a != nil && a.Seq != 0 && len(a.Record) > 0 {
				a.Time = a.Time.UTC()
				w.keep(a)
			}
		}
	}
	if s.Seq > w.seq {
		w.seq = s.Seq
	}
}

// queue is a min-heap (container/heap) of items that know their place in
// it, so that any of them can be removed.
type queue[T any] struct {
	items []T
	less  func(a, b T) bool
	place func(x T, i int)
}

func (q *queue[T]) Len() int           { return len(q.items) }
func (q *queue[T]) Less(i, j int) bool { return q.less(q.items[i], q.items[j]) }
func (q *queue[T]) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.place(q.items[i], i)
	q.place(q.items[j], j)
}
func (q *queue[T]) Push(x any) {
	q.place(x.(T), len(q.items))
	q.items = append(q.items, x.(T))
}
func (q *queue[T]) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}
