// Package agenttest holds test helpers about the record's shape, shared by
// the tests of the packages that write or store records.
package agenttest

import (
	"fmt"
	"reflect"

	"github.com/octostore/agent/agent"
)

// FullOrigin returns an Origin with every field set to a distinct non-zero
// value, found by reflection: a test that round-trips it through a writer
// and a reader fails when a field added to Origin is forgotten by either.
func FullOrigin() agent.Origin {
	var o agent.Origin
	v := reflect.ValueOf(&o).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("%s-%d \"é\"", name, i))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(2000 + i))
		default:
			panic(fmt.Sprintf("agenttest.FullOrigin: Origin.%s is a %s; teach FullOrigin (and the writers) about it", name, f.Kind()))
		}
	}
	return o
}
