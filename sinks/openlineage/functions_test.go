package openlineage

import (
	"fmt"
	"testing"
)

// Datasets are named after OpenLineage's naming conventions.
func TestDatasetNaming(t *testing.T) {
	for _, c := range []struct{ in, ns, name, version string }{
		{"s3://ci-artifacts/build-api/9001/api.tar.gz", "s3://ci-artifacts", "build-api/9001/api.tar.gz", ""},
		{"s3a://Lake/raw/x.parquet", "s3://lake", "raw/x.parquet", ""},
		{"gs://bucket/a/b", "gs://bucket", "a/b", ""},
		{"hdfs://namenode:8020/warehouse/t", "hdfs://namenode:8020", "/warehouse/t", ""},
		{"kafka://broker/orders", "kafka://broker:9092", "orders", ""},
		{"postgres://db:5432/shop.public.orders", "postgres://db:5432", "shop.public.orders", ""},
		{"postgresql://db/shop.public.orders", "postgres://db:5432", "shop.public.orders", ""},
		{"mysql://db/shop.orders", "mysql://db:3306", "shop.orders", ""},
		{"file:///var/data/x.csv", "file", "/var/data/x.csv", ""},
		{"file://nas/var/data/x.csv", "file://nas", "/var/data/x.csv", ""},
		{"/var/data/x.csv", "file", "/var/data/x.csv", ""},
		{"https://Downloads.example.com/api/v2/x.json?token=1", "https://downloads.example.com", "/api/v2/x.json", ""},
		{"bigquery:project.dataset.table", "bigquery", "project.dataset.table", ""},
	} {
		d, err := URLDataset(c.in)
		if err != nil || d["namespace"] != c.ns || d["name"] != c.name {
			t.Errorf("URLDataset(%q) = %v, %v; want %s, %s", c.in, d, err, c.ns, c.name)
		}
	}
	for _, bad := range []string{"", "relative/path", "https://user:pw@host/x", "https:///x"} {
		if d, err := URLDataset(bad); err == nil {
			t.Errorf("URLDataset(%q) = %v, want an error", bad, d)
		}
	}
	for _, c := range []struct{ in, ns, name, version string }{
		{"registry.example.com/api:3f9c2ab", "oci://registry.example.com", "api", "3f9c2ab"},
		{"registry.example.com:5000/team/api:1.2", "oci://registry.example.com:5000", "team/api", "1.2"},
		{"localhost/api", "oci://localhost", "api", "latest"},
		{"nginx", "oci://docker.io", "library/nginx", "latest"},
		{"nginx:1.27", "oci://docker.io", "library/nginx", "1.27"},
		{"bitnami/redis:7", "oci://docker.io", "bitnami/redis", "7"},
		{"ghcr.io/org/app@sha256:abcd", "oci://ghcr.io", "org/app", "sha256:abcd"},
		{"ghcr.io/org/app:1.0@sha256:abcd", "oci://ghcr.io", "org/app", "sha256:abcd"},
	} {
		d, err := ImageDataset(c.in)
		if err != nil || d["namespace"] != c.ns || d["name"] != c.name || d["version"] != c.version {
			t.Errorf("ImageDataset(%q) = %v, %v; want %s, %s, %s", c.in, d, err, c.ns, c.name, c.version)
		}
	}
	for _, bad := range []string{"", "a b", "ghcr.io/app:"} {
		if d, err := ImageDataset(bad); err == nil {
			t.Errorf("ImageDataset(%q) = %v, want an error", bad, d)
		}
	}
	for _, c := range []struct {
		brokers any
		ns      string
	}{
		{"kafka-1:9092,kafka-2:9092", "kafka://kafka-1:9092"},
		{[]any{"Kafka-1"}, "kafka://kafka-1:9092"},
		{[]string{"k:19092"}, "kafka://k:19092"},
	} {
		d, err := KafkaDataset(c.brokers, "orders")
		if err != nil || d["namespace"] != c.ns || d["name"] != "orders" {
			t.Errorf("KafkaDataset(%v) = %v, %v; want %s", c.brokers, d, err, c.ns)
		}
	}
	if _, err := KafkaDataset(nil, "orders"); err == nil {
		t.Error("KafkaDataset without brokers: no error")
	}
}

// The functions are callable from a mapping, and a bad argument at run
// time is a mapping error, not a crash.
func TestFunctionsInMappings(t *testing.T) {
	s := newTestSink(t, `
  mapping "k" {
    event_type    = "'COMPLETE'"
    job_namespace = "'ns'"
    job_name      = "'job'"
    run_key       = "id"
    input "a" {
      dataset = "dataset('postgres://db:5432', 'shop.public.orders')"
    }
    input "b" {
      namespace = "'kafka://k:9092'"
      name      = "topic"
    }
    output "c" {
      dataset = "url_dataset(target)"
      version = "'v' + string(id)"
    }
  }`)
	ok := record("k", 1, map[string]any{"id": int64(1), "topic": "orders", "target": "s3://b/k"})
	bad := record("k", 2, map[string]any{"id": int64(2), "topic": "orders", "target": int64(5)})
	s.consume(t, ok, bad)
	evs := s.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	got := fmt.Sprint(get(evs[0], "inputs", 0, "namespace"), " ", get(evs[0], "inputs", 1, "name"), " ",
		get(evs[0], "outputs", 0, "name"), " ", get(evs[0], "outputs", 0, "facets", "version", "datasetVersion"))
	if got != "postgres://db:5432 orders k v1" {
		t.Errorf("got %s", got)
	}
	d := s.dead.Records()
	if len(d) != 1 || get(d[0].MaterializeFields(), "errors", 0, "field") != "output.c.dataset" {
		t.Fatalf("dead letters %v", d)
	}
}
