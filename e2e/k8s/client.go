package k8senv

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func (c *Cluster) restConfig() *rest.Config {
	c.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg
}

// RestConfigFor returns the client config of a kubeconfig file.
func (c *Cluster) RestConfigFor(path string) *rest.Config {
	c.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		c.t.Fatal(err)
	}
	return cfg
}

// httpClient authenticates as the admin, for /readyz.
func (c *Cluster) httpClient() *http.Client {
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(c.path("ca.crt"))
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(c.path("admin.crt"), c.path("admin.key"))
	if err != nil {
		c.t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return json.Unmarshal(b, v)
}
