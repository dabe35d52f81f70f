package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/octostore/agent/internal/testenv"
)

// OCTOAGENT_UPDATE_SCREENSHOT=1 rewrites docs/playground.png, the README's
// picture of the playground, from TestPlaygroundInBrowser.
const screenshotEnv = "OCTOAGENT_UPDATE_SCREENSHOT"

var playgroundURL = regexp.MustCompile(`octoagent playground: (http://\S+/)`)

// TestPlaygroundInBrowser runs octoagent playground and drives its page
// in a real headless Chromium: nginx lines pasted become typed records and
// a dead letter, a broken regex shows its diagnostic on its line, a line's
// step trace opens, "make a test" writes a block that octoagent test
// passes, and a jq program that loops is reported as a timeout while the
// server goes on serving.
func TestPlaygroundInBrowser(t *testing.T) {
	chromium := testenv.LookPath(t, "chromium", "chromium", "/usr/bin", "/usr/lib/chromium")
	root := moduleRoot(t)
	url := startPlayground(t, "--timeout", "1s")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1600, 1000), chromedp.UserDataDir(t.TempDir()), chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()

	// wait polls a JavaScript condition in the page: the page evaluates
	// as the user types, so every check waits for what it expects.
	began := time.Now()
	wait := func(what, cond string) {
		t.Helper()
		defer func() { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s (%s): %v\npage:\n%s", what, cond, err, tail(body, 4000))
		}
	}
	do := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(js string) string {
		t.Helper()
		return evalIn[string](t, ctx, js)
	}
	// typeInto sets a text area's text as a paste would, and tells the page.
	typeInto := func(id, text string) {
		t.Helper()
		v, _ := json.Marshal(text)
		evalIn[bool](t, ctx, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %s; el.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, id, v))
	}

	do("load the page", chromedp.Navigate(url))
	wait("the nginx pack and its samples", `document.querySelectorAll("#results .result").length > 0 && document.getElementById("pack").value === "nginx"`)

	// Paste nginx lines: two requests and a line that is not one.
	lines := strings.Join([]string{
		`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0100] "GET /api/v1/items?page=2 HTTP/1.1" 200 5120 "https://www.example.com/" "curl/8.5.0"`,
		`198.51.100.7 - - [21/Nov/2026:05:41:36 +0000] "POST /login HTTP/2.0" 302 0 "-" "Mozilla/5.0"`,
		`this is not an access log line`,
	}, "\n") + "\n"
	typeInto("lines", lines)
	wait("three results", `document.querySelectorAll("#results .result").length === 3 && document.querySelector('#results .result[data-line="3"]').classList.contains("dead")`)
	rec := evalIn[struct {
		Kind, Status, StatusType, Method, Dead string
	}](t, ctx, `(() => {
		const r1 = document.querySelector('#results .result[data-line="1"]');
		const st = r1.querySelector('tr.field[data-name="status"]');
		return {
			Kind: r1.querySelector(".badge.record").textContent,
			Status: st.querySelector("td.value").textContent,
			StatusType: st.querySelector("td.type").textContent,
			Method: document.querySelector('#results .result[data-line="2"] tr.field[data-name="method"] td.value').textContent,
			Dead: document.querySelector('#results .result[data-line="3"] .badge.dead').textContent,
		} })()`)
	if rec.Kind != "http_request" || rec.Status != "200" || rec.StatusType != "int" || rec.Method != `"POST"` || rec.Dead != "dead letter: no_match at parse.regex" {
		t.Fatalf("records shown: %+v", rec)
	}
	summary := text(`document.getElementById("summary").textContent`)
	if !strings.Contains(summary, "3 lines") || !strings.Contains(summary, "2 matched") || !strings.Contains(summary, "1 dead-lettered") || !strings.Contains(summary, "slowest step") {
		t.Fatalf("summary: %q", summary)
	}

	// Break the regex: the diagnostic shows on the pattern's line.
	rules := text(`document.getElementById("editor").value`)
	patternLine := 0
	for i, l := range strings.Split(rules, "\n") {
		if strings.Contains(l, "pattern =") && strings.Contains(l, "(?P<status>") {
			patternLine = i + 1
		}
	}
	if patternLine == 0 {
		t.Fatalf("no pattern line in the editor:\n%s", rules)
	}
	typeInto("editor", strings.Replace(rules, `(?P<status>\\d{3})`, `(?P<status>\\d{3}`, 1))
	wait("the diagnostic on the pattern's line", fmt.Sprintf(`(() => { const ln = document.querySelector('#highlight .ln.diag-error'); return !!ln && ln.dataset.n === "%d" && ln.querySelector(".diag-msg").textContent.includes("Invalid regular expression") })()`, patternLine))
	diag := text(`document.getElementById("diagnostics").textContent`)
	if !strings.Contains(diag, fmt.Sprintf("playground.hcl:%d:", patternLine)) || !strings.Contains(diag, "missing closing )") {
		t.Fatalf("diagnostics list: %q", diag)
	}
	typeInto("editor", rules)
	wait("the diagnostic to go", `!document.querySelector('#highlight .ln.diag-error') && document.querySelectorAll("#results .result.record").length === 2`)

	// Open the step trace of line 2.
	do("click line 2", chromedp.Click(chromedp.CSS(`#results .result[data-line="2"]`)))
	wait("the trace of line 2", `document.getElementById("trace-line").textContent === "of line 2" && !!document.querySelector('#trace .step[data-step="timestamp"]')`)
	step := evalIn[struct{ Pattern, Took, Time string }](t, ctx, `(() => {
		const p = document.querySelector('#trace .step[data-step="parse.regex"]');
		const ts = document.querySelector('#trace .step[data-step="timestamp"]');
		return { Pattern: p.querySelector(".pattern").textContent, Took: p.querySelector(".took").textContent,
			Time: ts.querySelector('tr.field[data-name="time"] td.type').textContent } })()`)
	if !strings.HasPrefix(step.Pattern, "pattern 1 matched: ^(?P<client_ip>") || !strings.HasSuffix(step.Took, "s") || step.Time != "time" {
		t.Fatalf("trace: %+v", step)
	}

	// The README's picture, with the transform in view.
	evalIn[bool](t, ctx, `(() => { const ed = document.getElementById("editor");
		const n = ed.value.split("\n").findIndex((l) => l.startsWith("transform "));
		ed.scrollTop = Math.max(0, n - 2) * 18; ed.dispatchEvent(new Event("scroll")); return true })()`)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(png))
	}
	shot := filepath.Join(t.TempDir(), "playground.png")
	if os.Getenv(screenshotEnv) == "1" {
		shot = filepath.Join(root, "docs", "playground.png")
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}

	// Make a test, and run it with octoagent test.
	typeInto("test-name", "made_in_the_browser")
	do("press make a test", chromedp.Click(chromedp.ID("make-test")))
	wait("the test block", `document.getElementById("test-output").value.includes('test "made_in_the_browser"')`)
	block := text(`document.getElementById("test-output").value`)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.hcl"), rules)
	src, err := os.ReadFile(filepath.Join(root, "configs", "nginx", "source.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "source.hcl"), string(src))
	writeFile(t, filepath.Join(dir, "tests.hcl"), block)
	code, out, errOut := runAgent(t, "", "test", "-c", dir)
	if code != 0 || !strings.Contains(string(out), "PASS made_in_the_browser") || !strings.Contains(string(out), "1 passed, 0 failed") {
		t.Fatalf("octoagent test on the block: exit %d\n%s%s\nblock:\n%s", code, out, errOut, block)
	}
	for _, want := range []string{`kind = "http_request"`, "status", "expect_dead_letter", `reason = "no_match"`} {
		if !strings.Contains(block, want) {
			t.Errorf("the block lacks %s:\n%s", want, block)
		}
	}

	// An uploaded file's lines, and another pack: nginx's grok variant
	// on its sample log, whose steps name the grok pattern.
	upload := filepath.Join(dir, "access.log")
	writeFile(t, upload, strings.Repeat(strings.SplitN(lines, "\n", 2)[0]+"\n", 4))
	do("upload a file", chromedp.SetUploadFiles(chromedp.ID("upload"), []string{upload}))
	wait("the uploaded lines", `document.querySelectorAll("#results .result.record").length === 4 && document.querySelectorAll("#results .result").length === 4`)
	do("choose the grok variant", chromedp.SetValue(chromedp.ID("pack"), "nginx (grok)"))
	evalIn[bool](t, ctx, `document.getElementById("pack").dispatchEvent(new Event("change")) || true`)
	wait("the grok step", `(() => { const p = document.querySelector('#trace .step[data-step="parse.grok"] .pattern'); return !!p && p.textContent.startsWith("pattern 1 matched: ") })()`)

	// A jq program that loops: the page reports the timeout, and the
	// server goes on serving the next evaluation.
	typeInto("editor", `transform "looping" {
  jq {
    query   = "def f: f; f"
    timeout = "1h"
  }
}
`)
	wait("the timeout", `(() => { const e = document.getElementById("error"); return !e.hidden && e.textContent.includes("ran longer than 1s") && e.textContent.includes("jq") })()`)
	typeInto("editor", rules)
	wait("records again", `document.getElementById("error").hidden && document.querySelectorAll("#results .result.record").length > 0`)
}

// evalIn evaluates a JavaScript expression in the page and returns its
// value.
func evalIn[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestPlaygroundConfigFlag: octoagent playground -c starts the editor from
// the given files (their schema and transform blocks, their sources
// beside them) and evaluates lines with them; a request for another host
// is refused.
func TestPlaygroundConfigFlag(t *testing.T) {
	url := startPlayground(t, "-c", "configs/schemas", "-c", "configs/nginx")
	resp, err := http.Get(url + "api/packs")
	if err != nil {
		t.Fatal(err)
	}
	var packs struct {
		Initial string
		Packs   []struct {
			Name, HCL string
			Sources   []string
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&packs)
	resp.Body.Close()
	if err != nil || len(packs.Packs) == 0 || packs.Packs[0].Name != packs.Initial || packs.Initial != "-c configs/schemas -c configs/nginx" {
		t.Fatalf("packs: %v %+v", err, packs)
	}
	p := packs.Packs[0]
	if !strings.Contains(p.HCL, `transform "nginx_access"`) || !strings.Contains(p.HCL, `schema "http_request"`) || len(p.Sources) != 1 || p.Sources[0] != "source.file.nginx" {
		t.Fatalf("the -c pack: %+v", p)
	}
	body, _ := json.Marshal(map[string]any{"hcl": p.HCL, "pack": p.Name,
		"lines": `203.0.113.9 - alice [21/Nov/2026:05:41:35 +0100] "GET /x HTTP/1.1" 200 5 "-" "curl/8.5.0"`})
	resp, err = http.Post(url+"api/eval", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Error   string
		Results []struct {
			Records []struct{ Kind string }
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || out.Error != "" || len(out.Results) != 1 || len(out.Results[0].Records) != 1 || out.Results[0].Records[0].Kind != "http_request" {
		t.Fatalf("eval: %v %+v", err, out)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "attacker.example:9599"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("a foreign Host got %d", resp.StatusCode)
	}
}

// startPlayground starts octoagent playground on a free loopback port
// and returns the URL it prints.
func startPlayground(t *testing.T, args ...string) string {
	t.Helper()
	pg := startAgent(t, "", append([]string{"playground", "--addr", "127.0.0.1:0"}, args...)...)
	var url string
	waitFor(t, startDeadline, "the playground to print its address", func() bool {
		if pg.Exited() {
			t.Fatalf("octoagent playground exited: %s", pg.Stderr.String())
		}
		if m := playgroundURL.FindStringSubmatch(pg.Stdout.String()); m != nil {
			url = m[1]
		}
		return url != ""
	})
	return url
}
