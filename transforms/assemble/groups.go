package assemble

import (
	"container/list"
	"encoding/json"
	"sort"
	"time"

	"github.com/octostore/agent/agent"
)

// item is one record's contribution to a group: the header's fields, or
// one part (a step).
type item struct {
	PID    string         `json:"pid,omitempty"`
	ID     string         `json:"id"`
	Time   time.Time      `json:"time"`
	Seq    uint64         `json:"seq"`
	Fields map[string]any `json:"fields"`

	size int64 // estimated memory, once known
}

// bytes estimates the memory of it (its fields as JSON), once.
func (it *item) bytes() int64 {
	if it.size == 0 {
		b, _ := json.Marshal(it.Fields)
		it.size = int64(len(b)+len(it.ID)+len(it.PID)) + itemOverhead
	}
	return it.size
}

// newer reports whether a comes after b: by time, then by arrival.
func newer(a, b *item) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.Seq > b.Seq
}

// completion is the record that ended a group, and when it came.
type completion struct {
	Origin agent.Origin `json:"origin"`
	Time   time.Time    `json:"time"`
	At     time.Time    `json:"at"` // wall clock
}

// group is one open run: its header, its parts, the ids of every record
// gathered (so that a record read again changes nothing), and its
// completion once the terminal record came.
type group struct {
	Key       string             `json:"key"`
	Seq       uint64             `json:"seq"`
	First     agent.Origin       `json:"first"`
	FirstTime time.Time          `json:"first_time"`
	Entity    []agent.KV         `json:"entity,omitempty"`
	LastAt    time.Time          `json:"last_at"` // wall clock of the last record
	Header    *item              `json:"header,omitempty"`
	Parts     map[string][]*item `json:"parts,omitempty"`
	Dropped   int                `json:"dropped,omitempty"`
	Members   []string           `json:"members"`
	Complete  *completion        `json:"complete,omitempty"`

	members map[string]bool
	size    int64
	elem    *list.Element
}

// doneGroup is a group already summarized: the ids of its records, so
// that reading them again changes nothing, and records of its key that
// come later are reported late.
type doneGroup struct {
	Key     string   `json:"key"`
	Seq     uint64   `json:"seq"`
	Summary string   `json:"summary"`
	Members []string `json:"members"`

	members map[string]bool
	size    int64
	elem    *list.Element
}

// pending is a summary made and not yet acknowledged by every sink: it is
// emitted (again, with the same id) until it is.
type pending struct {
	Key    string          `json:"key"`
	ID     string          `json:"id"`
	Seq    uint64          `json:"seq"`
	Dead   bool            `json:"dead,omitempty"` // goes to dead_letter
	Record json.RawMessage `json:"record"`
	Due    time.Time       `json:"due"`

	inflight bool
	tries    int
	size     int64
	elem     *list.Element
}

// groups is assemble's state, bounded by max_groups, max_parts,
// max_done and max_bytes.
type groups struct {
	open    map[string]*group
	order   *list.List // open groups by arrival
	done    map[string]*doneGroup
	doneL   *list.List
	pend    map[string]*pending
	pendL   *list.List
	bytes   int64 // every estimate below
	pbytes  int64 // of the pending summaries
	seq     uint64
	evicted func(reason string)
}

func newGroups(evicted func(string)) *groups {
	return &groups{open: map[string]*group{}, order: list.New(), done: map[string]*doneGroup{}, doneL: list.New(),
		pend: map[string]*pending{}, pendL: list.New(), evicted: evicted}
}

const (
	groupOverhead  = 512
	memberOverhead = 48
	itemOverhead   = 160
)

func (gs *groups) next() uint64 {
	gs.seq++
	return gs.seq
}

func (gs *groups) add(g *group) {
	if g.members == nil {
		g.members = make(map[string]bool, len(g.Members))
		for _, m := range g.Members {
			g.members[m] = true
		}
	}
	gs.open[g.Key] = g
	g.elem = gs.order.PushBack(g)
	gs.resize(g)
}

// resize recomputes the estimated memory of g.
func (gs *groups) resize(g *group) {
	n := int64(groupOverhead + len(g.Key) + memberOverhead*len(g.Members))
	if g.Header != nil {
		n += g.Header.bytes()
	}
	for _, l := range g.Parts {
		for _, it := range l {
			n += it.bytes()
		}
	}
	gs.bytes += n - g.size
	g.size = n
}

// member records that the record id belongs to g; false if it did.
func (g *group) member(id string) bool {
	if g.members[id] {
		return false
	}
	g.members[id] = true
	g.Members = append(g.Members, id)
	return true
}

// setHeader keeps it as the header if it is the latest.
func (g *group) setHeader(it *item, entity []agent.KV) {
	if g.Header == nil || newer(it, g.Header) {
		g.Header = it
		if len(entity) > 0 {
			g.Entity = entity
		}
	}
}

// setPart keeps it in list name, replacing an older item of its id, in
// time order; beyond max parts the oldest go (counted in Dropped).
func (g *group) setPart(name string, it *item, max int) (dropped int) {
	if g.Parts == nil {
		g.Parts = map[string][]*item{}
	}
	l := g.Parts[name]
	for i, x := range l {
		if x.PID == it.PID {
			if !newer(it, x) {
				return 0
			}
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	i := sort.Search(len(l), func(i int) bool { return newer(l[i], it) })
	l = append(l, nil)
	copy(l[i+1:], l[i:])
	l[i] = it
	g.Parts[name] = l
	for g.parts() > max {
		// The oldest item of any list goes.
		var oldest string
		for n, l := range g.Parts {
			if len(l) > 0 && (oldest == "" || newer(g.Parts[oldest][0], l[0])) {
				oldest = n
			}
		}
		g.Parts[oldest] = g.Parts[oldest][1:]
		g.Dropped++
		dropped++
	}
	return dropped
}

func (g *group) parts() int {
	n := 0
	for _, l := range g.Parts {
		n += len(l)
	}
	return n
}

// close moves g from the open groups to the done ones, under the id of
// its summary.
func (gs *groups) close(g *group, summary string) {
	gs.order.Remove(g.elem)
	delete(gs.open, g.Key)
	gs.bytes -= g.size
	d := &doneGroup{Key: g.Key, Seq: gs.next(), Summary: summary, Members: g.Members, members: g.members}
	gs.addDone(d)
}

func (gs *groups) addDone(d *doneGroup) {
	if d.members == nil {
		d.members = make(map[string]bool, len(d.Members))
		for _, m := range d.Members {
			d.members[m] = true
		}
	}
	if old := gs.done[d.Key]; old != nil {
		gs.dropDone(old, "")
	}
	d.size = int64(groupOverhead/2 + len(d.Key) + len(d.Summary) + memberOverhead*len(d.Members))
	gs.done[d.Key] = d
	d.elem = gs.doneL.PushBack(d)
	gs.bytes += d.size
}

func (gs *groups) dropDone(d *doneGroup, reason string) {
	delete(gs.done, d.Key)
	gs.doneL.Remove(d.elem)
	gs.bytes -= d.size
	if reason != "" && gs.evicted != nil {
		gs.evicted(reason)
	}
}

func (gs *groups) addPending(p *pending) {
	if p.Seq == 0 {
		p.Seq = gs.next()
	}
	if old := gs.pend[p.ID]; old != nil {
		gs.removePending(old)
	}
	p.size = int64(len(p.Record)+len(p.Key)+len(p.ID)) + itemOverhead
	gs.pend[p.ID] = p
	p.elem = gs.pendL.PushBack(p)
	gs.bytes += p.size
	gs.pbytes += p.size
}

func (gs *groups) removePending(p *pending) {
	if gs.pend[p.ID] != p {
		return
	}
	delete(gs.pend, p.ID)
	gs.pendL.Remove(p.elem)
	gs.bytes -= p.size
	gs.pbytes -= p.size
}

// saved is the state as the state file holds it, in arrival order.
type saved struct {
	Seq     uint64       `json:"seq"`
	Open    []*group     `json:"open"`
	Done    []*doneGroup `json:"done"`
	Pending []*pending   `json:"pending"`
}

func (gs *groups) save() *saved {
	s := &saved{Seq: gs.seq}
	for e := gs.order.Front(); e != nil; e = e.Next() {
		s.Open = append(s.Open, e.Value.(*group))
	}
	for e := gs.doneL.Front(); e != nil; e = e.Next() {
		s.Done = append(s.Done, e.Value.(*doneGroup))
	}
	for e := gs.pendL.Front(); e != nil; e = e.Next() {
		s.Pending = append(s.Pending, e.Value.(*pending))
	}
	return s
}

func (gs *groups) load(s *saved) {
	for _, d := range s.Done {
		if d != nil && d.Key != "" {
			gs.addDone(d)
		}
	}
	norm := func(it *item) {
		if it != nil {
			if it.Fields == nil {
				it.Fields = map[string]any{}
			}
			agent.Normalize(it.Fields)
			it.Time = it.Time.UTC()
		}
	}
	for _, g := range s.Open {
		if g == nil || g.Key == "" {
			continue
		}
		norm(g.Header)
		for _, l := range g.Parts {
			for _, it := range l {
				norm(it)
			}
		}
		gs.add(g)
	}
	for _, p := range s.Pending {
		if p != nil && p.ID != "" && len(p.Record) > 0 {
			gs.addPending(p)
		}
	}
	if s.Seq > gs.seq {
		gs.seq = s.Seq
	}
}
