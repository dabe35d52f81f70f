// The rule playground's page. Plain JavaScript, no build step: the server
// (internal/playground) loads the rules with the agent's config loader and
// runs the lines through the agent's own transform; this page only shows
// what it answers.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  packs: [], pack: null, transform: "", trace: 1, timer: null, ctrl: null,
  last: null, seq: 0, limits: {},
};

// ---- HCL highlighting ---------------------------------------------------

const rules = [
  ["comment", /\/\*[\s\S]*?(?:\*\/|$)/y],
  ["comment", /(?:#|\/\/)[^\n]*/y],
  ["heredoc", /<<-?([A-Za-z_][A-Za-z0-9_]*)\n[\s\S]*?\n[ \t]*\1(?=\n|$)/y],
  ["string", /"(?:[^"\\\n]|\\.)*"?/y],
  ["number", /\b\d+(?:\.\d+)?\b/y],
  ["literal", /\b(?:true|false|null)\b/y],
  ["attr", /[A-Za-z_][A-Za-z0-9_-]*(?=[ \t]*=(?!=))/y],
  ["block", /[A-Za-z_][A-Za-z0-9_-]*(?=[ \t]*(?:"|\{))/y],
  ["ref", /[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)+/y],
  ["punct", /[{}\[\]=,()]/y],
];

function tokens(src) {
  const out = [];
  let i = 0, plain = "";
  while (i < src.length) {
    let hit = null;
    for (const [type, re] of rules) {
      re.lastIndex = i;
      const m = re.exec(src);
      if (m && m[0].length > 0) { hit = [type, m[0]]; break; }
    }
    if (!hit) { plain += src[i++]; continue; }
    if (plain) { out.push(["", plain]); plain = ""; }
    out.push(hit);
    i += hit[1].length;
  }
  if (plain) out.push(["", plain]);
  return out;
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

// highlight renders the editor's text as one div per line, with the
// diagnostics of each line on it.
function highlight() {
  const src = $("editor").value;
  const lines = [[]];
  for (const [type, text] of tokens(src)) {
    text.split("\n").forEach((part, k) => {
      if (k > 0) lines.push([]);
      if (part) lines[lines.length - 1].push(type ? `<span class="t-${type}">${esc(part)}</span>` : esc(part));
    });
  }
  const byLine = {};
  for (const d of (state.last && state.last.diagnostics) || []) {
    if (d.in_editor && d.line) (byLine[d.line] = byLine[d.line] || []).push(d);
  }
  $("highlight").innerHTML = lines.map((parts, i) => {
    const n = i + 1, ds = byLine[n];
    let cls = "ln", msg = "";
    if (ds) {
      cls += ds.some((d) => d.severity === "error") ? " diag-error" : " diag-warning";
      msg = ds.map((d) => `<span class="diag-msg" title="${esc(d.detail || "")}">${esc(`${d.line}:${d.col} ${d.summary}`)}</span>`).join("");
    }
    return `<div class="${cls}" data-n="${n}">${parts.join("") || " "}${msg}</div>`;
  }).join("");
  syncScroll();
}

function syncScroll() {
  const ed = $("editor"), hl = $("highlight");
  hl.scrollTop = ed.scrollTop;
  hl.scrollLeft = ed.scrollLeft;
}

// ---- evaluation ---------------------------------------------------------

function request(extra) {
  return Object.assign({
    hcl: $("editor").value, lines: $("lines").value, pack: state.pack ? state.pack.name : "",
    transform: state.transform, trace: state.trace,
  }, extra || {});
}

function schedule(delay) {
  clearTimeout(state.timer);
  state.timer = setTimeout(evaluate, delay === undefined ? 250 : delay);
}

async function post(path, body, signal) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
  const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  return { status: r.status, data };
}

async function evaluate() {
  if (state.ctrl) state.ctrl.abort();
  const ctrl = new AbortController();
  state.ctrl = ctrl;
  const seq = ++state.seq;
  setStatus("evaluating…", true);
  let res;
  try {
    res = await post("api/eval", request(), ctrl.signal);
  } catch (e) {
    if (e.name !== "AbortError") { setStatus("the server does not answer", false); showError(String(e)); }
    return;
  }
  if (seq !== state.seq) return;
  if (res.status === 429) { setStatus("busy: retrying", true); schedule(500); return; }
  render(res.data);
}

function setStatus(text, busy) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("busy", !!busy);
}

function showError(msg) {
  const e = $("error");
  e.hidden = !msg;
  e.textContent = msg || "";
}

function render(r) {
  state.last = r;
  highlight();
  renderDiagnostics(r.diagnostics || []);
  renderTransforms(r);
  showError(r.error || "");
  const bad = (r.diagnostics || []).some((d) => d.severity === "error");
  setStatus(bad ? "the rules have errors: the results are those of the last good rules" : `evaluated in ${ms(r.took_ns)}`, false);
  if (bad) {
    $("results").classList.add("stale");
    return;
  }
  renderResults(r.results || []);
  renderSummary(r);
  renderTrace(r);
}

function renderDiagnostics(ds) {
  const ul = $("diagnostics");
  ul.innerHTML = "";
  for (const d of ds) {
    const li = document.createElement("li");
    li.className = d.severity;
    const pos = d.file ? `${d.file}:${d.line}:${d.col}` : "";
    li.innerHTML = `<span class="pos">${esc(pos)}</span> <b>${esc(d.severity)}: ${esc(d.summary)}</b><span class="detail">${esc(d.detail || "")}</span>`;
    if (d.in_editor) li.addEventListener("click", () => gotoLine(d.line, d.col));
    ul.appendChild(li);
  }
}

function gotoLine(line, col) {
  const ed = $("editor"), lines = ed.value.split("\n");
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
  at += Math.max(0, (col || 1) - 1);
  ed.focus();
  ed.setSelectionRange(at, at);
  ed.scrollTop = Math.max(0, (line - 5) * 18);
  syncScroll();
}

function renderTransforms(r) {
  const sel = $("transform");
  const list = r.transforms || [];
  if (sel.options.length !== list.length || list.some((t, i) => sel.options[i].value !== t)) {
    sel.innerHTML = list.map((t) => `<option value="${esc(t)}">${esc(t)}</option>`).join("");
  }
  if (r.transform) { sel.value = r.transform; state.transform = r.transform; }
}

function fieldsTable(fields, prev) {
  if (!fields || !fields.length) return "";
  const before = {};
  for (const f of prev || []) before[f.name] = JSON.stringify(f.value) + f.type;
  const rows = fields.map((f) => {
    const changed = prev && before[f.name] !== JSON.stringify(f.value) + f.type;
    const type = f.declared && f.declared !== f.type ? `${f.type} (schema: ${f.declared})` : f.type;
    return `<tr class="field${changed ? " changed" : ""}" data-name="${esc(f.name)}"><td class="name">${esc(f.name)}</td><td class="value">${esc(JSON.stringify(f.value))}</td><td class="type">${esc(type)}</td></tr>`;
  });
  return `<table class="fields">${rows.join("")}</table>`;
}

function errorsList(errors) {
  return `<ul class="errors">${(errors || []).map((e) => `<li>${e.field ? `<span class="field">${esc(e.field)}</span>: ` : ""}${esc(e.error)}</li>`).join("")}</ul>`;
}

function renderResults(results) {
  const box = $("results");
  box.classList.remove("stale");
  box.innerHTML = results.map((r) => {
    let badge, body = "";
    if (r.dead) {
      badge = `<span class="badge dead">dead letter: ${esc(r.dead.reason)} at ${esc(r.dead.step)}</span>`;
      body = errorsList(r.dead.errors);
      if (r.dead.fields && r.dead.fields.length) body += `<div class="parsed">parsed before it failed:${fieldsTable(r.dead.fields)}</div>`;
    } else if (r.dropped) {
      badge = `<span class="badge dropped">dropped</span>`;
    } else {
      badge = r.records.map((rec) => `<span class="badge record">${esc(rec.kind)}</span>`).join(" ");
      body = r.records.map((rec) => fieldsTable(rec.fields)).join("");
    }
    const sel = r.line === state.trace ? " selected" : "";
    const kind = r.dead ? "dead" : r.dropped ? "dropped" : "record";
    return `<div class="result ${kind}${sel}" data-line="${r.line}"><div class="head"><span class="n">${r.line}</span>${badge}<span class="input" title="${esc(r.input)}">${esc(r.input)}</span></div>${body}</div>`;
  }).join("") || `<div class="trace"><div class="empty">Paste lines to see what the rules make of them.</div></div>`;
}

function renderSummary(r) {
  const s = r.summary || {};
  let slow = "";
  if (s.slowest) {
    const per = s.slowest.runs ? s.slowest.total_ns / s.slowest.runs : 0;
    slow = ` · slowest step: <b class="slowest">${s.slowest.index}. ${esc(s.slowest.step)}</b> ${ms(s.slowest.total_ns)} (${ms(per)} a line)`;
  }
  $("summary").innerHTML = `<b>${s.lines || 0}</b> lines · <b class="matched">${s.matched || 0}</b> matched` +
    ` (${s.records || 0} records) · <b class="dead">${s.dead_letters || 0}</b> dead-lettered · <b>${s.dropped || 0}</b> dropped${slow}`;
}

function renderTrace(r) {
  const box = $("trace");
  const t = r.trace;
  $("trace-line").textContent = t ? `of line ${t.line}` : "";
  if (!t) { box.innerHTML = `<div class="empty">Click a result to see each step's work on its line.</div>`; return; }
  let prev = [{ name: "message", type: "string", value: t.input }];
  const rows = t.steps.map((st) => {
    const failed = st.error && !st.dropped;
    let outcome = "ok";
    if (st.dropped) outcome = "dropped by where";
    else if (st.error) outcome = `failed: ${esc(st.error)}`;
    else if (st.made) outcome = `made ${st.made} records`;
    const pat = st.pattern ? `<div class="pattern" title="${esc(st.pattern_text)}">pattern ${st.pattern} matched: ${esc(st.pattern_text)}</div>` : "";
    const panic = st.panic ? `<div class="panic">panic: ${esc(st.panic)}</div>` : "";
    const html = `<div class="step${failed ? " failed" : ""}" data-step="${esc(st.step)}"><div class="head"><span class="n">${st.index}.</span><span class="name">${esc(st.step)}</span><span class="outcome">${outcome}</span><span class="took">${ms(st.took_ns)}</span></div>${pat}${panic}${fieldsTable(st.fields, prev)}</div>`;
    prev = st.fields;
    return html;
  });
  const res = (r.results || [])[t.line - 1];
  if (res) {
    let end;
    if (res.dead) end = `<span class="badge dead">dead letter: ${esc(res.dead.reason)} at ${esc(res.dead.step)}</span>${errorsList(res.dead.errors)}`;
    else if (res.dropped) end = `<span class="badge dropped">dropped</span>`;
    else end = res.records.map((rec) => `<span class="badge record">${esc(rec.kind)}</span> <small class="muted">id ${esc(rec.id)}</small>`).join("<br>");
    rows.push(`<div class="step final" data-step="outcome"><div class="head"><span class="name">schema, kind, id</span>${end}</div></div>`);
  }
  box.innerHTML = rows.join("");
}

function ms(ns) {
  if (!ns) return "0 ms";
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${(ns / 1e6).toFixed(ns < 1e8 ? 2 : 0)} ms`;
}

// ---- packs, samples, upload, make a test --------------------------------

function choosePack(name) {
  const p = state.packs.find((x) => x.name === name) || state.packs[0];
  if (!p) return;
  state.pack = p;
  $("pack").value = p.name;
  $("editor").value = p.hcl;
  $("sources").textContent = p.sources && p.sources.length ? `with ${p.sources.join(", ")}` : "";
  $("sample").innerHTML = p.samples.map((s, i) => `<option value="${i}">${esc(s.name)}</option>`).join("");
  state.transform = "";
  chooseSample(0);
  highlight();
}

function chooseSample(i) {
  const s = state.pack && state.pack.samples[i];
  if (!s) return;
  $("sample").value = String(i);
  $("lines").value = s.text;
  if (s.transform) state.transform = s.transform;
  state.trace = 1;
  schedule(0);
}

// markEdited says in the sample menu that the lines are the user's now.
function markEdited() {
  const sel = $("sample");
  let o = sel.querySelector('option[value="edited"]');
  if (!o) {
    o = document.createElement("option");
    o.value = "edited";
    o.textContent = "(your lines)";
    sel.appendChild(o);
  }
  sel.value = "edited";
}

async function makeTest() {
  const out = $("test-output");
  out.hidden = false;
  out.value = "writing the test…";
  const name = $("test-name").value.trim();
  const res = await post("api/test", request({ test_name: name, trace: 0 }));
  const r = res.data;
  if (r.error || !r.test) {
    out.value = `# cannot make a test: ${r.error || "the rules have errors"}`;
    return;
  }
  out.value = r.test;
  $("copy-test").hidden = false;
}

async function init() {
  const r = await fetch("api/packs").then((x) => x.json());
  state.packs = r.packs || [];
  state.limits = r.limits || {};
  $("editor-file").textContent = state.limits.editor_file || "playground.hcl";
  $("limits").textContent = `up to ${state.limits.max_lines} lines, ${state.limits.timeout} per evaluation`;
  $("pack").innerHTML = state.packs.map((p) => `<option>${esc(p.name)}</option>`).join("");
  const ed = $("editor");
  ed.addEventListener("input", () => { highlight(); schedule(); });
  ed.addEventListener("scroll", syncScroll);
  ed.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey) {
      e.preventDefault();
      const s = ed.selectionStart;
      ed.setRangeText("  ", s, ed.selectionEnd, "end");
      highlight(); schedule();
    }
  });
  $("lines").addEventListener("input", () => { markEdited(); schedule(); });
  $("pack").addEventListener("change", (e) => choosePack(e.target.value));
  $("sample").addEventListener("change", (e) => { if (e.target.value !== "edited") chooseSample(Number(e.target.value)); });
  $("transform").addEventListener("change", (e) => { state.transform = e.target.value; schedule(0); });
  $("results").addEventListener("click", (e) => {
    const el = e.target.closest(".result");
    if (!el) return;
    state.trace = Number(el.dataset.line);
    for (const x of document.querySelectorAll(".result.selected")) x.classList.remove("selected");
    el.classList.add("selected");
    schedule(0);
  });
  $("upload").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (!f) return;
    if (state.limits.max_bytes && f.size > state.limits.max_bytes) { showError(`${f.name} is ${f.size} bytes; the playground takes at most ${state.limits.max_bytes}.`); return; }
    f.text().then((text) => { $("lines").value = text; markEdited(); state.trace = 1; schedule(0); });
  });
  $("make-test").addEventListener("click", makeTest);
  $("copy-test").addEventListener("click", () => { const o = $("test-output"); o.select(); navigator.clipboard && navigator.clipboard.writeText(o.value); });
  choosePack(r.initial);
}

init().catch((e) => { setStatus("cannot load the packs", false); showError(String(e)); });
