package grok

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func loadShared(t *testing.T, set string) map[string]string {
	dir := "/work/shared/specs/logstash-patterns/patterns/" + set
	files, _ := filepath.Glob(dir + "/*")
	all := map[string]string{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		d, err := ParseDefinitions(string(b))
		if err != nil {
			t.Fatal(f, err)
		}
		for k, v := range d {
			all[k] = v
		}
	}
	return all
}

func TestSmoke(t *testing.T) {
	for _, set := range []string{"legacy", "ecs-v1"} {
		defs := loadShared(t, set)
		var names []string
		for k := range defs {
			names = append(names, k)
		}
		sort.Strings(names)
		count := map[Engine]int{}
		for _, n := range names {
			p, err := Compile("%{"+n+"}", Options{Lookup: func(s string) (string, bool) { v, ok := defs[s]; return v, ok }})
			if err != nil {
				t.Errorf("%s %s: %v", set, n, err)
				continue
			}
			count[p.Engine]++
			if p.Engine == EngineBacktracking {
				fmt.Println(set, n, p.Reason)
			}
		}
		fmt.Println(set, count)
	}
}

func TestSmokeLine(t *testing.T) {
	defs := loadShared(t, "ecs-v1")
	lk := func(s string) (string, bool) { v, ok := defs[s]; return v, ok }
	line := []byte(`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2&sort=price HTTP/1.1" 200 5120 "https://www.example.com/start" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"`)
	p, err := Compile("%{HTTPD_COMBINEDLOG}", Options{Lookup: lk})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := Compile("%{HTTPD_COMBINEDLOG}", Options{Lookup: lk, ForceBacktracking: true})
	fmt.Println(p.Engine, p.Reason, q.Engine)
	a, b := make([]int, p.Slots()), make([]int, q.Slots())
	m1, _ := p.NewMatcher().Match(line, a)
	m2, err := q.NewMatcher().Match(line, b)
	fmt.Println(m1, m2, err)
	for i, c := range p.Captures {
		s1, s2 := "-", "-"
		if a[2*i+2] >= 0 {
			s1 = string(line[a[2*i+2]:a[2*i+3]])
		}
		if b[2*i+2] >= 0 {
			s2 = string(line[b[2*i+2]:b[2*i+3]])
		}
		fmt.Printf("%s %q %q\n", c.Ref, s1, s2)
	}
}
