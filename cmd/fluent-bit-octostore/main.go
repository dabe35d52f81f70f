// Command fluent-bit-octostore is a Fluent Bit output plugin, built with
// -buildmode=c-shared into out_octostore.so (`make plugin`). Records that
// Fluent Bit flushes go through the transforms, schemas and sinks of an
// HCL config, synchronously: a flush returns FLB_OK once every record is
// delivered or dead-lettered. See README.md.
package main

import (
	"C"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/octostore/agent/cmd/fluent-bit-octostore/internal/flb"
)

var (
	mu        sync.Mutex
	instances = map[int]*flb.Instance{}
	nextID    int
)

var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("plugin", "octostore")

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	return output.FLBPluginRegister(def, "octostore", "Octostore: records through the agent's rules, schemas and store sink")
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	output.FLBPluginUnregister(def)
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	opt := flb.Options{
		Config:    output.FLBPluginConfigKey(plugin, "Config"),
		Transform: output.FLBPluginConfigKey(plugin, "Transform"),
		Logger:    logger,
	}
	if s := output.FLBPluginConfigKey(plugin, "Timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "[out_octostore] Timeout %q: a positive duration, such as 30s\n", s)
			return output.FLB_ERROR
		}
		opt.Timeout = d
	}
	in, err := flb.Open(opt)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[out_octostore] cannot start:\n%v\n", err)
		return output.FLB_ERROR
	}
	mu.Lock()
	nextID++
	id := nextID
	instances[id] = in
	mu.Unlock()
	// The context is an integer key into instances: no Go pointer goes to C.
	output.FLBPluginSetContext(plugin, id)
	return output.FLB_OK
}

func instance(ctx unsafe.Pointer) (int, *flb.Instance) {
	id, _ := output.FLBPluginGetContext(ctx).(int)
	mu.Lock()
	defer mu.Unlock()
	return id, instances[id]
}

//export FLBPluginFlush
func FLBPluginFlush(data unsafe.Pointer, length C.int, tag *C.char) int {
	fmt.Fprintln(os.Stderr, "[out_octostore] flush without a context: Fluent Bit must call FLBPluginFlushCtx")
	return output.FLB_ERROR
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) int {
	_, in := instance(ctx)
	if in == nil {
		fmt.Fprintln(os.Stderr, "[out_octostore] flush for an unknown instance")
		return output.FLB_ERROR
	}
	chunk := C.GoBytes(data, length)
	return int(in.Flush(C.GoString(tag), chunk))
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	id, in := instance(ctx)
	if in == nil {
		return output.FLB_OK
	}
	mu.Lock()
	delete(instances, id)
	mu.Unlock()
	in.Close()
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() int {
	mu.Lock()
	all := make([]*flb.Instance, 0, len(instances))
	for id, in := range instances {
		all = append(all, in)
		delete(instances, id)
	}
	mu.Unlock()
	for _, in := range all {
		in.Close()
	}
	return output.FLB_OK
}

func main() {}
