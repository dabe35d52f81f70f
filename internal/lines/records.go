package lines

import (
	"fmt"
	"time"

	"github.com/octostore/agent/agent"
)

// Records turns lines into raw records that all carry tok (which must count
// len(ls) records). base is copied into each record's origin, with Offset
// set per line. A cut line becomes a dead letter holding its head; it is
// returned in cut, for the source's dead_letter output.
func Records(ls []Line, now time.Time, base agent.Origin, tok *agent.Token, maxLine int) (recs, cut agent.Batch) {
	recs = make(agent.Batch, 0, len(ls))
	for _, l := range ls {
		r := agent.Record{Time: now, Raw: l.Bytes, Origin: base}
		r.Origin.Offset = l.Offset
		r.SetToken(tok)
		if l.Cut {
			cut = append(cut, CutDeadLetter(&r, base.Component, maxLine))
			continue
		}
		recs = append(recs, r)
	}
	return recs, cut
}

// CutDeadLetter turns r, the head of a line longer than maxLine, into the
// dead letter a source sends to its dead_letter output.
func CutDeadLetter(r *agent.Record, component string, maxLine int) agent.Record {
	return agent.NewDeadLetter(r, agent.DeadLetter{
		Component: component, Step: "max_line_bytes", Reason: "line_too_long",
		Errors: []agent.FieldError{{Error: fmt.Sprintf("line longer than max_line_bytes (%d); kept its first %d bytes", maxLine, len(r.Raw))}},
	})
}
