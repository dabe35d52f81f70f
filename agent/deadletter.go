package agent

// FieldError is one reason a record was dead-lettered, tied to a field
// where there is one ("status: expects int, got string \"abc\"").
type FieldError struct {
	Field string
	Error string
}

// DeadLetter describes why a record failed, for NewDeadLetter.
type DeadLetter struct {
	Component     string // the component that dead-lettered it: "transform.nginx_access"
	Step          string // the step that failed: "parse.regex", "schema", "max_line_bytes"
	Reason        string // a short, stable reason used as a metric label: "no_match", "schema", "line_too_long"
	Schema        string
	SchemaVersion string
	Errors        []FieldError
}

// NewDeadLetter turns r into a dead-letter record that carries the raw
// input, the fields parsed so far, the rule and step that failed, the schema
// and the list of field errors. It keeps r's token and origin (with its
// rule marked), so acknowledging it resolves r.
func NewDeadLetter(r *Record, d DeadLetter) Record {
	errs := make([]any, len(d.Errors))
	for i, e := range d.Errors {
		m := map[string]any{"error": e.Error}
		if e.Field != "" {
			m["field"] = e.Field
		}
		errs[i] = m
	}
	f := map[string]any{
		"raw":       string(r.Message()),
		"component": d.Component,
		"step":      d.Step,
		"reason":    d.Reason,
		"errors":    errs,
	}
	if r.Kind != "" && r.Kind != KindRaw {
		f["kind"] = r.Kind
	}
	switch {
	case r.typed != nil:
		parsed := r.typed.toMap()
		delete(parsed, "message")
		f["fields"] = parsed
	case r.fields != nil:
		parsed := CloneMap(r.fields)
		delete(parsed, "message")
		f["fields"] = parsed
	default:
		f["fields"] = r.rawMap(false) // the source's raw fields, if any
	}
	if d.Schema != "" {
		f["schema"] = d.Schema
		if d.SchemaVersion != "" {
			f["schema_version"] = d.SchemaVersion
		}
	}
	out := Record{Time: r.Time, Kind: KindDeadLetter, fields: f, Origin: r.Origin, token: r.token, Entity: r.Entity}
	out.Origin.Derive(d.Component+".dead_letter", 0)
	r.token = nil
	return out
}
