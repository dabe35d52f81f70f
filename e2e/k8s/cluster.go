// Package k8senv runs a real, throwaway Kubernetes control plane for the
// end-to-end tests: etcd, kube-apiserver and kube-controller-manager, built
// by build.sh from k8s.io/kubernetes and the etcd release it requires, all on
// 127.0.0.1 with certificates generated for the run. There are no nodes:
// controllers create ReplicaSets and Pods and emit events, and pods stay
// Pending. The API server writes an audit log of what service accounts
// ask of it (Audit).
package k8senv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/octostore/agent/internal/testenv"
)

// Version is the Kubernetes version build.sh builds.
const Version = "v1.37.2"

var (
	binOnce sync.Once
	binDir  string
	binErr  error
	binTook time.Duration
)

// Binaries returns the directory holding kube-apiserver,
// kube-controller-manager and etcd, building them with build.sh on first
// use (a few minutes; cached in $HOME/.cache/octoagent; e2e/setup.sh builds
// them before the tests). If they cannot be built, the test is skipped with
// the reason, and fails in CI (testenv.Missing).
func Binaries(t testing.TB) string {
	t.Helper()
	// A build takes minutes: it gets what the test binary's -timeout
	// leaves (minus a margin for the tests), and the test is skipped if
	// that was not enough. The Go build cache keeps the work done.
	budget := time.Hour
	if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, has := dl.Deadline(); has {
			budget = time.Until(deadline) - 5*time.Minute
		}
	}
	binOnce.Do(func() {
		if dir := cacheDir(); cached(dir) {
			binDir = dir
			return
		}
		if budget <= 0 {
			binErr = fmt.Errorf("kube-apiserver %s is not built and go test -timeout leaves no time to build it: run e2e/k8s/build.sh once (15 minutes or more on 2 cores)", Version)
			return
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "build.sh")
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		binTook = time.Since(start)
		if ctx.Err() != nil {
			binErr = fmt.Errorf("building kube-apiserver %s did not finish within the %v go test -timeout left (the Go build cache keeps the work done): run e2e/k8s/build.sh once, or go test -timeout 30m", Version, budget.Round(time.Second))
			return
		}
		if err != nil {
			binErr = fmt.Errorf("%s: %v\n%s", script, err, stderr.String())
			return
		}
		binDir = strings.TrimSpace(string(out))
	})
	if binErr != nil {
		testenv.Missing(t, "kube-apiserver", fmt.Sprintf("cannot build the Kubernetes %s control plane: %v", Version, binErr))
	}
	return binDir
}

// Kubectl returns the kubectl build.sh built (the version of the control
// plane), else the one on PATH; Missing if there is none.
func Kubectl(t testing.TB) string {
	t.Helper()
	return testenv.LookPath(t, "kubectl", "kubectl", cacheDir())
}

// cacheDir is where build.sh keeps the binaries.
func cacheDir() string {
	if d := os.Getenv("OCTOAGENT_K8S_CACHE"); d != "" {
		return d
	}
	return filepath.Join(testenv.CacheDir(), "k8s-"+Version)
}

func cached(dir string) bool {
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "etcd"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// BuildTime is how long Binaries took (near zero when cached).
func BuildTime() time.Duration { return binTook }

// Cluster is a running control plane.
type Cluster struct {
	t   testing.TB
	Dir string
	// Kubeconfig is an admin (system:masters) kubeconfig.
	Kubeconfig string
	URL        string
	Client     kubernetes.Interface

	bins                        string
	etcdPort, peerPort, apiPort int
	mu                          sync.Mutex
	procs                       map[string]*proc
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts etcd, kube-apiserver and kube-controller-manager and waits
// until the API server is ready. Everything stops at the end of the test.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bins := Binaries(t)
	dir, err := os.MkdirTemp("", "octoagent-k8s-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, Dir: dir, bins: bins, procs: map[string]*proc{},
		etcdPort: freePort(t), peerPort: freePort(t), apiPort: freePort(t)}
	c.URL = "https://127.0.0.1:" + strconv.Itoa(c.apiPort)
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			for _, n := range []string{"kube-apiserver", "kube-controller-manager", "etcd"} {
				b, _ := os.ReadFile(filepath.Join(dir, n+".log"))
				t.Logf("%s log (tail):\n%s", n, tailBytes(b, 3000))
			}
		}
		os.RemoveAll(dir)
	})
	if err := c.certs(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path("audit-policy.yaml"), []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	c.StartEtcd()
	c.StartAPIServer()
	c.start("kube-controller-manager", filepath.Join(bins, "kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig,
		"--service-account-private-key-file="+c.path("sa.key"),
		"--root-ca-file="+c.path("ca.crt"),
		// root-ca-cert-publisher: the kube-root-ca.crt ConfigMap of every
		// namespace, which a pod's service account volume projects.
		"--controllers=deployment,replicaset,serviceaccount,root-ca-cert-publisher",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--concurrent-deployment-syncs=2", "--concurrent-replicaset-syncs=2",
	)
	cs, err := kubernetes.NewForConfig(c.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.Client = cs
	return c
}

func (c *Cluster) path(name string) string { return filepath.Join(c.Dir, name) }

func (c *Cluster) start(name, bin string, args ...string) {
	c.t.Helper()
	logf, err := os.OpenFile(c.path(name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatalf("start %s: %v", name, err)
	}
	logf.Close()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	c.mu.Lock()
	c.procs[name] = p
	c.mu.Unlock()
}

// proc is a started process; done is closed once it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Stop stops one process (SIGTERM, then SIGKILL after 20s) and waits for it.
func (c *Cluster) Stop(name string) {
	c.mu.Lock()
	p := c.procs[name]
	delete(c.procs, name)
	c.mu.Unlock()
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (c *Cluster) stopAll() {
	for _, n := range []string{"kube-controller-manager", "kube-apiserver", "etcd"} {
		c.Stop(n)
	}
}

// EtcdURL is the etcd client URL.
func (c *Cluster) EtcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(c.etcdPort) }

// EtcdBinary is the etcd the cluster runs: $OCTOAGENT_ETCD when set (to try
// the control plane on another etcd), else the one build.sh built, at the
// version this Kubernetes release requires.
func (c *Cluster) EtcdBinary() string {
	if p := os.Getenv("OCTOAGENT_ETCD"); p != "" {
		return p
	}
	return filepath.Join(c.bins, "etcd")
}

// StartEtcd starts etcd on its data directory (kept across restarts).
func (c *Cluster) StartEtcd() {
	c.t.Helper()
	peer := "http://127.0.0.1:" + strconv.Itoa(c.peerPort)
	c.start("etcd", c.EtcdBinary(),
		"--name=default", "--data-dir="+c.path("etcd"),
		"--listen-client-urls="+c.EtcdURL(), "--advertise-client-urls="+c.EtcdURL(),
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer, "--log-level=warn",
	)
	waitUntil(c.t, 60*time.Second, "etcd to serve", func() bool {
		resp, err := http.Get(c.EtcdURL() + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// StartAPIServer starts kube-apiserver and waits for /readyz.
func (c *Cluster) StartAPIServer() {
	c.t.Helper()
	c.start("kube-apiserver", filepath.Join(c.bins, "kube-apiserver"),
		"--etcd-servers="+c.EtcdURL(),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(c.apiPort),
		"--cert-dir="+c.path("apiserver-certs"),
		"--tls-cert-file="+c.path("server.crt"), "--tls-private-key-file="+c.path("server.key"),
		"--client-ca-file="+c.path("ca.crt"),
		"--service-account-key-file="+c.path("sa.pub"),
		"--service-account-signing-key-file="+c.path("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--endpoint-reconciler-type=none",
		"--audit-policy-file="+c.path("audit-policy.yaml"),
		"--audit-log-path="+c.path("audit.log"),
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
	)
	client := c.httpClient()
	waitUntil(c.t, 120*time.Second, "kube-apiserver /readyz", func() bool {
		resp, err := client.Get(c.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// auditPolicy logs, at the Metadata level (who, what, the request URI, the
// response code), every request a service account makes; nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`

// Audit returns the audit events the API server wrote so far (across
// restarts: the log is appended to): every request of a service account,
// at the stages ResponseStarted (watches) and ResponseComplete.
func (c *Cluster) Audit() []auditv1.Event {
	c.t.Helper()
	b, err := os.ReadFile(c.path("audit.log"))
	if err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	var out []auditv1.Event
	for _, l := range bytes.Split(b, []byte("\n")) {
		var ev auditv1.Event
		if len(l) == 0 || json.Unmarshal(l, &ev) != nil {
			continue // the last line may be being written
		}
		out = append(out, ev)
	}
	return out
}

// RestartControlPlane stops kube-apiserver and etcd, then starts them again
// on the same data and ports. Watches break; their resourceVersions stay
// valid in etcd, but the API server's watch cache starts afresh.
func (c *Cluster) RestartControlPlane() {
	c.t.Helper()
	c.Stop("kube-apiserver")
	c.Stop("etcd")
	c.StartEtcd()
	c.StartAPIServer()
}

// RestartAPIServer stops and starts kube-apiserver alone.
func (c *Cluster) RestartAPIServer() {
	c.t.Helper()
	c.Stop("kube-apiserver")
	c.StartAPIServer()
}

// CompactEtcd compacts etcd at its current revision (through its JSON
// gateway), so that every older resourceVersion is gone, and returns it.
func (c *Cluster) CompactEtcd() int64 {
	c.t.Helper()
	resp, err := http.Post(c.EtcdURL()+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"AA=="}`))
	if err != nil {
		c.t.Fatal(err)
	}
	var rr struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	err = decodeJSON(resp, &rr)
	if err != nil {
		c.t.Fatal(err)
	}
	rev, _ := strconv.ParseInt(rr.Header.Revision, 10, 64)
	resp, err = http.Post(c.EtcdURL()+"/v3/kv/compaction", "application/json",
		strings.NewReader(fmt.Sprintf(`{"revision":"%d","physical":true}`, rev)))
	if err != nil {
		c.t.Fatal(err)
	}
	var cr map[string]any
	if err := decodeJSON(resp, &cr); err != nil {
		c.t.Fatal(err)
	}
	return rev
}

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as the
// service account ns/name with a bound token (1h) and returns its path.
func (c *Cluster) ServiceAccountKubeconfig(ns, name string) string {
	c.t.Helper()
	ctx := context.Background()
	exp := int64(3600)
	tr, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp},
	}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("token for %s/%s: %v", ns, name, err)
	}
	p := c.path("sa-" + ns + "-" + name + ".kubeconfig")
	c.writeKubeconfig(p, "    token: "+tr.Status.Token+"\n")
	return p
}

// CreateNamespace creates a namespace and waits for its default service
// account (so that pods can be created in it).
func (c *Cluster) CreateNamespace(name string) {
	c.t.Helper()
	ctx := context.Background()
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("create namespace %s: %v", name, err)
	}
	waitUntil(c.t, 60*time.Second, "the default service account of "+name, func() bool {
		_, err := c.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
}

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tailBytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return "...\n" + string(b[len(b)-n:])
}

// certs writes a CA, the API server's serving certificate, an admin client
// certificate (system:masters), the service-account key pair and the admin
// kubeconfig.
func (c *Cluster) certs() error {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "octoagent-e2e-ca"},
		NotBefore: now, NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, tmpl *x509.Certificate) error {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now, now.Add(48*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		if err := writePEM(c.path(name+".crt"), "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(c.path(name+".key"), "EC PRIVATE KEY", kb)
	}
	if err := writePEM(c.path("ca.crt"), "CERTIFICATE", caDER); err != nil {
		return err
	}
	if err := issue("server", 2, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}); err != nil {
		return err
	}
	if err := issue("admin", 3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "octoagent-e2e-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return err
	}
	saKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kb, _ := x509.MarshalECPrivateKey(saKey)
	pb, _ := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err := writePEM(c.path("sa.key"), "EC PRIVATE KEY", kb); err != nil {
		return err
	}
	if err := writePEM(c.path("sa.pub"), "PUBLIC KEY", pb); err != nil {
		return err
	}
	c.Kubeconfig = c.path("admin.kubeconfig")
	c.writeKubeconfig(c.Kubeconfig, "    client-certificate: "+c.path("admin.crt")+"\n    client-key: "+c.path("admin.key")+"\n")
	return nil
}

func (c *Cluster) writeKubeconfig(path, user string) {
	c.t.Helper()
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: " + c.URL +
		"\n    certificate-authority: " + c.path("ca.crt") +
		"\nusers:\n- name: u\n  user:\n" + user +
		"contexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: u\ncurrent-context: e2e\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
