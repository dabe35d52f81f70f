package openlineage

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/expr-lang/expr"
)

// The functions a mapping's expressions may call, besides expr's builtins.
// Each returns a dataset, {namespace, name} (and version for an image),
// named after OpenLineage's naming conventions
// (https://openlineage.io/docs/spec/naming): the same dataset gets the same
// name whoever reports it, so lineage from different producers meets.

// functionNames lists them, for "did you mean" hints.
var functionNames = []string{"dataset", "url_dataset", "kafka_dataset", "image_dataset"}

func functions() []expr.Option {
	return []expr.Option{
		expr.Function("dataset", strings2("dataset", datasetOf), new(func(string, string) map[string]any)),
		expr.Function("url_dataset", strings1("url_dataset", URLDataset), new(func(string) map[string]any)),
		expr.Function("kafka_dataset", func(p ...any) (any, error) {
			if len(p) != 2 {
				return nil, fmt.Errorf("kafka_dataset takes the brokers and a topic")
			}
			return strings1("kafka_dataset", func(topic string) (map[string]any, error) { return KafkaDataset(p[0], topic) })(p[1])
		}, new(func(any, string) map[string]any)),
		expr.Function("image_dataset", strings1("image_dataset", ImageDataset), new(func(string) map[string]any)),
	}
}

// strings1 and strings2 adapt a function of strings to expr: a value of a
// field the schema does not type can be anything at run time, so each
// argument is checked.
func strings1(fn string, f func(string) (map[string]any, error)) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		s, err := stringArgs(fn, p, 1)
		if err != nil {
			return nil, err
		}
		return f(s[0])
	}
}

func strings2(fn string, f func(string, string) (map[string]any, error)) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		s, err := stringArgs(fn, p, 2)
		if err != nil {
			return nil, err
		}
		return f(s[0], s[1])
	}
}

func stringArgs(fn string, p []any, n int) ([]string, error) {
	if len(p) != n {
		return nil, fmt.Errorf("%s takes %d arguments, got %d", fn, n, len(p))
	}
	out := make([]string, n)
	for i, x := range p {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s: argument %d is %s, not a string", fn, i+1, describe(x))
		}
		out[i] = s
	}
	return out, nil
}

func datasetOf(namespace, name string) (map[string]any, error) {
	if namespace == "" || name == "" {
		return nil, fmt.Errorf("a dataset needs a namespace and a name, got %q and %q", namespace, name)
	}
	return map[string]any{"namespace": namespace, "name": name}, nil
}

// URLDataset names the dataset a URL points at, as OpenLineage's naming
// conventions say: the scheme and authority are the namespace, the path the
// name.
//
//	s3://bucket/key/x.parquet        → s3://bucket, key/x.parquet
//	gs://bucket/key                  → gs://bucket, key
//	hdfs://namenode:8020/warehouse/t → hdfs://namenode:8020, /warehouse/t
//	kafka://broker:9092/topic        → kafka://broker:9092, topic
//	postgres://db:5432/shop.public.orders → postgres://db:5432, shop.public.orders
//	mysql://db:3306/shop.orders      → mysql://db:3306, shop.orders
//	file:///var/data/x.csv           → file, /var/data/x.csv
//	file://host/var/data/x.csv       → file://host, /var/data/x.csv
//	/var/data/x.csv                  → file, /var/data/x.csv
//	https://host/path/x.json         → https://host, /path/x.json
//	bigquery:project.dataset.table   → bigquery, project.dataset.table
//
// A Kafka, PostgreSQL or MySQL URL without a port gets the default one
// (9092, 5432, 3306), so that two spellings of one server meet.
func URLDataset(s string) (map[string]any, error) {
	if strings.HasPrefix(s, "/") {
		return datasetOf("file", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("url_dataset: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		return nil, fmt.Errorf("url_dataset: %q has no scheme (s3://, kafka://, https://, ...)", s)
	}
	if u.Opaque != "" { // bigquery:project.dataset.table
		return datasetOf(scheme, u.Opaque)
	}
	if u.User != nil {
		return nil, errors.New("url_dataset: the URL carries credentials; they do not belong in lineage")
	}
	host := strings.ToLower(u.Host)
	path := u.Path
	switch scheme {
	case "s3", "s3a", "s3n", "gs":
		if scheme != "gs" {
			scheme = "s3"
		}
		return datasetOf(scheme+"://"+host, strings.TrimPrefix(path, "/"))
	case "kafka", "postgres", "postgresql", "mysql":
		ports := map[string]string{"kafka": "9092", "postgres": "5432", "postgresql": "5432", "mysql": "3306"}
		if scheme == "postgresql" {
			scheme = "postgres"
		}
		if _, _, err := net.SplitHostPort(host); err != nil && host != "" {
			host = net.JoinHostPort(host, ports[scheme])
		}
		return datasetOf(scheme+"://"+host, strings.TrimPrefix(path, "/"))
	case "file":
		if host == "" || host == "localhost" {
			return datasetOf("file", path)
		}
		return datasetOf("file://"+host, path)
	}
	if host == "" {
		return nil, fmt.Errorf("url_dataset: %q has no host", s)
	}
	return datasetOf(scheme+"://"+host, path)
}

// KafkaDataset names a Kafka topic: namespace kafka://{first bootstrap
// broker}, name the topic. brokers is a list of host:port or one string
// (comma-separated brokers, as KAFKA_BROKERS is often given).
func KafkaDataset(brokers any, topic string) (map[string]any, error) {
	var first string
	switch b := brokers.(type) {
	case string:
		first, _, _ = strings.Cut(b, ",")
	case []any:
		if len(b) > 0 {
			first = fmt.Sprint(b[0])
		}
	case []string:
		if len(b) > 0 {
			first = b[0]
		}
	}
	first = strings.ToLower(strings.TrimSpace(first))
	if first == "" {
		return nil, fmt.Errorf("kafka_dataset: no broker given")
	}
	if _, _, err := net.SplitHostPort(first); err != nil {
		first = net.JoinHostPort(first, "9092")
	}
	return datasetOf("kafka://"+first, topic)
}

// ImageDataset names a container image: the registry is the namespace
// (oci://registry.example.com; Docker Hub is docker.io), the repository the
// name (library/nginx for Docker Hub's official images), and the tag or
// digest the dataset's version (the `version` facet; "latest" when none is
// given). Every push of an image is thus a version of one dataset, and
// "which image was deployed where" reads from the version. OpenLineage has
// no convention for images yet: this one follows the reference syntax of
// the OCI distribution spec and Docker's normalisation.
func ImageDataset(ref string) (map[string]any, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.ContainsAny(ref, " \t\n") {
		return nil, fmt.Errorf("image_dataset: %q is not an image reference", ref)
	}
	rest, digest, hasDigest := strings.Cut(ref, "@")
	registry, repo := "docker.io", rest
	if i := strings.IndexByte(rest, '/'); i > 0 {
		if first := rest[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			registry, repo = strings.ToLower(first), rest[i+1:]
		}
	}
	version := "latest"
	if i := strings.LastIndexByte(repo, ':'); i >= 0 && !strings.Contains(repo[i:], "/") {
		repo, version = repo[:i], repo[i+1:]
	}
	if hasDigest {
		version = digest
	}
	if registry == "docker.io" && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	if repo == "" || version == "" {
		return nil, fmt.Errorf("image_dataset: %q is not an image reference", ref)
	}
	return map[string]any{"namespace": "oci://" + registry, "name": repo, "version": version}, nil
}
