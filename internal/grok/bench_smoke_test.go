package grok
import "testing"
func BenchmarkSmokeCombined(b *testing.B) {
	defs := map[string]string{}
	for _, set := range []string{"ecs-v1"} { defs = loadShared(nil, set) }
	lk := func(s string) (string, bool) { v, ok := defs[s]; return v, ok }
	line := []byte(`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2&sort=price HTTP/1.1" 200 5120 "https://www.example.com/start" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"`)
	for _, pat := range []string{"%{HTTPD_COMBINEDLOG}", "^%{HTTPD_COMBINEDLOG}$"} {
	p, _ := Compile(pat, Options{Lookup: lk})
	m := p.NewMatcher()
	s := make([]int, p.Slots())
	b.Run(pat, func(b *testing.B) {
	for i := 0; i < b.N; i++ { m.Match(line, s) }
	})
	}
	q, _ := Compile("%{HTTPD_COMBINEDLOG}", Options{Lookup: lk, ForceBacktracking: true})
	m := q.NewMatcher()
	s := make([]int, q.Slots())
	b.Run("regexp2", func(b *testing.B) {
	for i := 0; i < b.N; i++ { m.Match(line, s) }
	})
}
