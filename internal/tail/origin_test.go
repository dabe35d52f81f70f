package tail

import (
	"reflect"
	"testing"

	"github.com/octostore/agent/agent"
)

// TestSetOriginCopiesEveryField: records builds origins field by field, so
// a field added to agent.Origin must be added to setOrigin too.
func TestSetOriginCopiesEveryField(t *testing.T) {
	var base agent.Origin
	v := reflect.ValueOf(&base).Elem()
	for i := 0; i < v.NumField(); i++ {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint64:
			f.SetUint(uint64(i + 1))
		default:
			t.Fatalf("Origin.%s: a kind of field this test does not fill", v.Type().Field(i).Name)
		}
	}
	var got agent.Origin
	setOrigin(&got, &base)
	if got != base {
		t.Fatalf("setOrigin copied %+v, want %+v", got, base)
	}
}
