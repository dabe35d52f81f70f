package agent

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Conditions are what components report about the state of what they read
// or write, for /healthz: a file the agent may not read, a path that is a
// directory. One place shows them all, so that a permission problem on a
// DaemonSet is visible without reading every log. They do not make the
// agent unhealthy (a liveness probe must not restart it for an unreadable
// file); /healthz lists them under its "ok".
type Conditions struct {
	mu sync.Mutex
	m  map[conditionKey]Condition
}

type conditionKey struct{ component, subject string }

// Condition is one reported state.
type Condition struct {
	Component string    // "source.file.app"
	Subject   string    // what it is about: a path
	Message   string    // the state: "permission denied: ..."
	Since     time.Time // when it was first reported in this state
}

// Set reports subject's state; it returns true if that is a change (a new
// subject, or another message), so the caller logs it once.
func (c *Conditions) Set(component, subject, msg string) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := conditionKey{component, subject}
	if old, ok := c.m[k]; ok && old.Message == msg {
		return false
	}
	if c.m == nil {
		c.m = map[conditionKey]Condition{}
	}
	c.m[k] = Condition{Component: component, Subject: subject, Message: msg, Since: time.Now()}
	return true
}

// Clear removes subject's condition; it returns true if there was one.
func (c *Conditions) Clear(component, subject string) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := conditionKey{component, subject}
	if _, ok := c.m[k]; !ok {
		return false
	}
	delete(c.m, k)
	return true
}

// List returns the conditions, by component and subject.
func (c *Conditions) List() []Condition {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	out := make([]Condition, 0, len(c.m))
	for _, v := range c.m {
		out = append(out, v)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Condition) int {
		if n := strings.Compare(a.Component, b.Component); n != 0 {
			return n
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	return out
}

// ComponentConditions are one component's Conditions.
type ComponentConditions struct {
	c  *Conditions
	id string
}

// For binds the conditions of one component.
func (c *Conditions) For(id string) *ComponentConditions { return &ComponentConditions{c: c, id: id} }

// Set reports subject's state; true if it changed (log it then). A nil
// receiver (a component built outside a runtime, in a test) keeps nothing
// and reports every call as a change.
func (cc *ComponentConditions) Set(subject, msg string) bool {
	if cc == nil {
		return true
	}
	return cc.c.Set(cc.id, subject, msg)
}

// Clear removes subject's condition; true if there was one.
func (cc *ComponentConditions) Clear(subject string) bool {
	if cc == nil {
		return false
	}
	return cc.c.Clear(cc.id, subject)
}
