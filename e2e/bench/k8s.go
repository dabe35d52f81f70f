package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/octostore/agent/internal/k8smeta/k8smetatest"
)

// The kubernetes_logs scenarios: the generated log spread over the CRI
// files of benchPodsTailed containers under a simulated /var/log/pods, and
// an API (served from this process) that lists benchPodsKnown pods on the
// bench node, as realistic as the informer sees them (labels, annotations
// with a last-applied-configuration, managedFields, statuses), and serves
// the GETs of their ReplicaSets. With pod_metadata off the API is not
// asked; with it on, every record carries the pod's metadata.

const (
	benchNode       = "bench-node"
	benchPodsKnown  = 1000
	benchPodsTailed = 200
	benchPodsPerRS  = 10
)

func benchPod(i int) *corev1.Pod { return k8smetatest.RealisticPod(i, benchNode, benchPodsPerRS) }

// benchAPI serves the bench node's pods and their ReplicaSets.
type benchAPI struct {
	URL  string
	list []byte
	srv  *http.Server
}

func startBenchAPI() (*benchAPI, error) {
	l := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for i := 0; i < benchPodsKnown; i++ {
		l.Items = append(l.Items, *benchPod(i))
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	a := &benchAPI{list: b}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/pods", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
			// Nothing changes: hold the watch open until the client goes.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Write(a.list)
	})
	mux.HandleFunc("/apis/apps/v1/namespaces/{ns}/replicasets/{name}", func(w http.ResponseWriter, r *http.Request) {
		ctl := true
		name := r.PathValue("name")
		dep, _, _ := strings.Cut(name, "-5d8f7c9b4")
		rs := appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.PathValue("ns"), UID: types.UID("rs-" + name),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: dep, UID: types.UID("dep-" + dep), Controller: &ctl}}}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rs)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a.URL = "http://" + ln.Addr().String()
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(ln)
	atExit(func() { a.srv.Close() })
	return a, nil
}

// kubeconfig writes a kubeconfig for the bench API.
func (a *benchAPI) kubeconfig(dir string) (string, error) {
	p := filepath.Join(dir, "bench.kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: bench\n  cluster:\n    server: " + a.URL +
		"\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: bench\n  context:\n    cluster: bench\n    user: u\ncurrent-context: bench\n"
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

// podsDir writes (once per input) the input's lines, round robin, to the
// CRI log files of the first benchPodsTailed pods.
func podsDir(input, work string) (string, error) {
	dir := filepath.Join(work, "pods-"+strings.TrimSuffix(filepath.Base(input), ".log"))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	in, err := os.Open(input)
	if err != nil {
		return "", err
	}
	defer in.Close()
	files := make([]*bufio.Writer, benchPodsTailed)
	for i := range files {
		p := benchPod(i)
		d := filepath.Join(dir, fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID), "app")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
		f, err := os.Create(filepath.Join(d, "0.log"))
		if err != nil {
			return "", err
		}
		defer f.Close()
		files[i] = bufio.NewWriterSize(f, 64<<10)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 0; sc.Scan(); n++ {
		fmt.Fprintf(files[n%benchPodsTailed], "2026-11-21T05:00:%02d.%09dZ stdout F %s\n", n/1000000%60, n%1000000000, sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	for _, w := range files {
		if err := w.Flush(); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}
