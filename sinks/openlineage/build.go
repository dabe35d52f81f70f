package openlineage

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/octostore/agent/agent"
)

// Building one RunEvent from one record, with its mapping.

// options are the sink-wide settings a mapping builds with.
type options struct {
	producer    string
	recordFacet string // facet name; "" for none
	unmapped    bool   // record facet: only the fields the mapping does not read
}

// build returns the event of r, or nil when event_type gives nil (the
// record makes no event). A value the mapping cannot use is a
// *mappingError.
func (m *mapping) build(r *agent.Record, o *options) (*RunEvent, error) {
	env := r.MaterializeFields()
	et, err := m.eventType.run(env)
	if err != nil || et == nil {
		return nil, err
	}
	ev := &RunEvent{Producer: o.producer, SchemaURL: RunEventSchemaURL, Inputs: []Dataset{}, Outputs: []Dataset{}}
	var ok bool
	if ev.EventType, ok = et.(string); !ok {
		return nil, m.eventType.errorf("gives %s, not one of %v", describe(et), EventTypes)
	}
	ev.EventTime = formatTime(r.Time)
	if m.eventTime != nil {
		t, err := timeValue(m.eventTime, env)
		if err != nil {
			return nil, err
		}
		if t != "" {
			ev.EventTime = t
		}
	}
	if ev.Job.Namespace, ev.Job.Name, ev.Run.RunID, err = runOf(m.jobNamespace, m.jobName, m.runKey, env); err != nil {
		return nil, err
	}
	if err := m.runFacets(ev, env, o.producer); err != nil {
		return nil, err
	}
	if err := m.jobFacets(ev, env, o.producer); err != nil {
		return nil, err
	}
	if ev.Inputs, err = datasets(m.inputs, env, o.producer); err != nil {
		return nil, err
	}
	if ev.Outputs, err = datasets(m.outputs, env, o.producer); err != nil {
		return nil, err
	}
	if o.recordFacet != "" {
		f := m.recordFacet(r, env, o)
		if ev.Run.Facets == nil {
			ev.Run.Facets = map[string]any{}
		}
		ev.Run.Facets[o.recordFacet] = f
	}
	return ev, nil
}

// runOf evaluates a job's namespace and name and a run key, and returns
// them with the run's id. Each must be there (not nil, not empty).
func runOf(ns, name, key *program, env map[string]any) (string, string, string, error) {
	n, err := required(ns, env, wantString)
	if err != nil {
		return "", "", "", err
	}
	j, err := required(name, env, wantString)
	if err != nil {
		return "", "", "", err
	}
	k, err := required(key, env, wantKey)
	if err != nil {
		return "", "", "", err
	}
	return n, j, RunID(n, j, k), nil
}

// required evaluates p, which must give a non-empty value.
func required(p *program, env map[string]any, w want) (string, error) {
	s, err := optional(p, env, w)
	if err == nil && s == "" {
		err = p.errorf("gives nothing (nil or an empty string); it is required")
	}
	return s, err
}

// optional evaluates p (nil: not written) to a string; nil gives "".
func optional(p *program, env map[string]any, w want) (string, error) {
	if p == nil {
		return "", nil
	}
	v, err := p.run(env)
	if err != nil || v == nil {
		return "", err
	}
	s, ok := scalarString(v, w == wantKey)
	if !ok {
		return "", p.errorf("gives %s, not %s", describe(v), w)
	}
	return s, nil
}

// optionals evaluates string attributes (nil ones, not written, give "").
func optionals(env map[string]any, ps ...*program) ([]string, error) {
	out := make([]string, len(ps))
	for i, p := range ps {
		var err error
		if out[i], err = optional(p, env, wantString); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scalarString prints a scalar: a string as is, a number in its shortest
// form; a bool or a time only when anyScalar (a run key).
func scalarString(v any, anyScalar bool) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", false
		}
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), anyScalar
	case time.Time:
		return formatTime(t), anyScalar
	}
	return "", false
}

// timeValue evaluates a time attribute: a time is written in RFC 3339
// (UTC), a string is taken as it is (the validator checks it is a
// date-time), nil gives "".
func timeValue(p *program, env map[string]any) (string, error) {
	if p == nil {
		return "", nil
	}
	v, err := p.run(env)
	switch t := v.(type) {
	case nil:
		return "", err
	case time.Time:
		return formatTime(t), nil
	case string:
		return t, nil
	}
	return "", p.errorf("gives %s, not %s", describe(v), wantTime)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func base(producer, url string) BaseFacet { return BaseFacet{Producer: producer, SchemaURL: url} }

func (m *mapping) runFacets(ev *RunEvent, env map[string]any, producer string) error {
	facets := map[string]any{}
	if p := m.parent; p != nil {
		ns, name, key, err := optionalRun(p, env)
		if err != nil {
			return err
		}
		if ns != "" && name != "" && key != "" {
			facets["parent"] = &ParentRunFacet{BaseFacet: base(producer, parentFacetURL),
				Run: ParentRun{RunID: RunID(ns, name, key)}, Job: ParentJob{Namespace: ns, Name: name}}
		}
	}
	if e := m.errMsg; e != nil {
		v, err := optionals(env, e.message, e.language, e.stackTrace)
		if err != nil {
			return err
		}
		if v[1] == "" {
			v[1] = "unknown"
		}
		if v[0] != "" {
			facets["errorMessage"] = &ErrorMessageRunFacet{BaseFacet: base(producer, errorMessageFacetURL),
				Message: v[0], ProgrammingLanguage: v[1], StackTrace: v[2]}
		}
	}
	if e := m.engine; e != nil {
		v, err := optionals(env, e.version, e.name, e.adapterVersion)
		if err != nil {
			return err
		}
		if v[0] != "" {
			facets["processing_engine"] = &ProcessingEngineRunFacet{BaseFacet: base(producer, processingEngineURL),
				Version: v[0], Name: v[1], OpenlineageAdapterVersion: v[2]}
		}
	}
	if n := m.nominal; n != nil {
		start, err := timeValue(n.start, env)
		if err != nil {
			return err
		}
		end, err := timeValue(n.end, env)
		if err != nil {
			return err
		}
		if start != "" {
			facets["nominalTime"] = &NominalTimeRunFacet{BaseFacet: base(producer, nominalTimeFacetURL),
				NominalStartTime: start, NominalEndTime: end}
		}
	}
	if len(facets) > 0 {
		ev.Run.Facets = facets
	}
	return nil
}

// optionalRun evaluates a parent's job and run key; any of them nil means
// there is no parent.
func optionalRun(p *runRef, env map[string]any) (ns, name, key string, err error) {
	if ns, err = optional(p.jobNamespace, env, wantString); err != nil {
		return
	}
	if name, err = optional(p.jobName, env, wantString); err != nil {
		return
	}
	key, err = optional(p.runKey, env, wantKey)
	return
}

func (m *mapping) jobFacets(ev *RunEvent, env map[string]any, producer string) error {
	t := m.jobType
	if t == nil {
		return nil
	}
	v, err := optionals(env, t.processingType, t.integration, t.jobType)
	if err != nil {
		return err
	}
	if v[0] != "" && v[1] != "" {
		ev.Job.Facets = map[string]any{"jobType": &JobTypeJobFacet{BaseFacet: base(producer, jobTypeFacetURL),
			ProcessingType: v[0], Integration: v[1], JobType: v[2]}}
	}
	return nil
}

// datasets evaluates input or output rules, in order, without duplicates
// (the first of one namespace and name wins).
func datasets(rules []*datasetRule, env map[string]any, producer string) ([]Dataset, error) {
	out := []Dataset{}
	seen := map[[2]string]bool{}
	for _, r := range rules {
		items := []any{nil}
		if r.forEach != nil {
			v, err := r.forEach.run(env)
			if err != nil {
				return nil, err
			}
			switch t := v.(type) {
			case nil:
				items = nil
			case []any:
				items = t
			case []string:
				items = make([]any, len(t))
				for i, s := range t {
					items[i] = s
				}
			default:
				return nil, r.forEach.errorf("gives %s, not a list", describe(v))
			}
		}
		for _, item := range items {
			ns, name, version, err := r.one(env, item, r.forEach != nil)
			if err != nil {
				return nil, err
			}
			if ns == "" || seen[[2]string{ns, name}] {
				continue
			}
			seen[[2]string{ns, name}] = true
			d := Dataset{Namespace: ns, Name: name}
			if version != "" {
				d.Facets = map[string]any{"version": &DatasetVersionDatasetFacet{BaseFacet: base(producer, datasetVersionFacetURL), DatasetVersion: version}}
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// one evaluates a dataset rule for one item (bound to `each` while it
// runs): the dataset's namespace, name and version, or no namespace when
// the rule gives no dataset.
func (r *datasetRule) one(env map[string]any, item any, each bool) (ns, name, version string, err error) {
	if each {
		old, had := env["each"]
		env["each"] = item
		defer func() {
			if had {
				env["each"] = old
			} else {
				delete(env, "each")
			}
		}()
	}
	if r.dataset == nil {
		v, err := optionals(env, r.namespace, r.name, r.version)
		if err != nil || v[0] == "" || v[1] == "" {
			return "", "", "", err
		}
		return v[0], v[1], v[2], nil
	}
	v, err := r.dataset.run(env)
	if err != nil || v == nil {
		return "", "", "", err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", "", "", r.dataset.errorf("gives %s, not %s: url_dataset(...), image_dataset(...), kafka_dataset(...) or {namespace: ..., name: ...}", describe(v), wantDataset)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := scalarString(m[k], false)
		switch {
		case k != "namespace" && k != "name" && k != "version":
			return "", "", "", r.dataset.errorf("gives a dataset with the key %q; a dataset has namespace, name and version", k)
		case m[k] == nil:
		case !ok:
			return "", "", "", r.dataset.errorf("gives a dataset whose %s is %s, not a string", k, describe(m[k]))
		case k == "namespace":
			ns = s
		case k == "name":
			name = s
		default:
			version = s
		}
	}
	if ns == "" || name == "" {
		return "", "", "", r.dataset.errorf("gives a dataset without a namespace or a name")
	}
	if r.version != nil { // version = "..." overrides the dataset's own
		v, err := optional(r.version, env, wantString)
		if err != nil {
			return "", "", "", err
		}
		if v != "" {
			version = v
		}
	}
	return ns, name, version, nil
}

// recordFacet is the octoagent_record facet of r: its id, kind, entity and
// fields (all, or those the mapping does not read).
func (m *mapping) recordFacet(r *agent.Record, env map[string]any, o *options) *RecordRunFacet {
	f := &RecordRunFacet{BaseFacet: base(o.producer, RecordFacetURL), ID: r.EnsureID(), Kind: r.Kind}
	if len(r.Entity) > 0 {
		f.Entity = make(map[string]string, len(r.Entity))
		for _, kv := range r.Entity {
			f.Entity[kv.Key] = kv.Value
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		if !o.unmapped || !m.reads[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b := append(make([]byte, 0, 256), '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = agent.AppendString(b, k)
		b = append(b, ':')
		b = agent.AppendValue(b, env[k])
	}
	f.Fields = append(b, '}')
	return f
}
