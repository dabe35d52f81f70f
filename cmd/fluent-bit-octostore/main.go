// Command fluent-bit-octostore is a Fluent Bit output plugin, built with
// -buildmode=c-shared into out_octostore.so (`make plugin`). Records that
// Fluent Bit flushes go through the transforms, schemas and sinks of an
// HCL config. A flush hands its chunk to the instance's disk buffer and
// returns FLB_OK once it is durable there (within 100 ms), FLB_RETRY when
// the buffer is full; a background sender delivers. See README.md.
package main

import (
	"C"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/octostore/agent/agent"
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
	key := func(k string) string { return output.FLBPluginConfigKey(plugin, k) }
	opt := flb.Options{
		Config:      key("Config"),
		Transform:   key("Transform"),
		Name:        key("Instance"),
		BufferPath:  key("Buffer_Path"),
		MetricsAddr: key("Metrics_Addr"),
		Logger:      logger,
	}
	if s := key("Buffer_Max_Size"); s != "" {
		n, err := agent.ParseBytes(s)
		if err != nil || n < 1<<20 {
			fmt.Fprintf(os.Stderr, "[out_octostore] Buffer_Max_Size %q: a size of at least 1MiB, such as 256MiB\n", s)
			return output.FLB_ERROR
		}
		opt.BufferMaxBytes = n
	}
	if s := key("Timeout"); s != "" {
		// Before the disk buffer, Timeout bounded a flush that waited for
		// the store. A flush now waits for the disk only (at most 100 ms).
		logger.Warn("the Timeout key is no longer used: a flush returns once the chunk is in the disk buffer (within 100ms), and the sinks retry delivery on their own", "Timeout", s)
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
	// Fluent Bit exits its outputs one after the other. Start every
	// instance's exit now, so that N instances take as long as one: each
	// is bounded, and so is Fluent Bit's shutdown.
	mu.Lock()
	delete(instances, id)
	for _, other := range instances {
		go other.Close()
	}
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
	// In parallel: each instance's exit is bounded, and so is their sum.
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() { defer wg.Done(); in.Close() }()
	}
	wg.Wait()
	return output.FLB_OK
}

func main() {}
