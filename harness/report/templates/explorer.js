// The claims explorer: one row per claim, each system's answer beside it; filters, sorting,
// counts for the current filter and the view in the URL hash. The data is the JSON of
// <script type="application/json" id="explorer-data"> (harness/report/explorer.py). Model
// and claim text is data, never markup: every cell is set with textContent.
"use strict";
(function () {
  const root = document.getElementById("explorer");
  const source = document.getElementById("explorer-data");
  if (!root || !source) return;
  const data = JSON.parse(source.textContent);
  const PAGE_SIZE = 50;
  const col = data.claims;
  const n = col.id.length;
  const systems = data.systems;
  const OUTCOMES = ["", "correct", "tie", "wrong"]; // index = code in genOut
  const LL = ["", "right", "wrong"]; // index = code in mcOut
  const QORDER = Object.keys(data.quantifiers);

  // Per system, columns over the claims: generated answer, verdict, outcome; LL margin.
  const genOut = systems.map(() => new Int8Array(n));
  const genAns = systems.map(() => new Array(n));
  const genVerdict = systems.map(() => new Array(n));
  const mcOut = systems.map(() => new Int8Array(n));
  const mcMargin = systems.map(() => new Float64Array(n).fill(NaN));
  systems.forEach((name, s) => {
    for (const [row, answer, verdict, outcome] of data.gen[name] || []) {
      genOut[s][row] = OUTCOMES.indexOf(outcome);
      genAns[s][row] = answer;
      genVerdict[s][row] = verdict;
    }
    for (const [row, margin, right] of data.mc[name] || []) {
      mcOut[s][row] = right ? 1 : 2;
      mcMargin[s][row] = margin === null ? NaN : margin;
    }
  });
  const hasGen = systems.map((name) => (data.gen[name] || []).length > 0);
  const hasMc = systems.map((name) => (data.mc[name] || []).length > 0);

  // Systems disagree on a claim: two answers of one kind (generated, or LL) differ.
  const disagree = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let g = 0, m = 0;
    for (let s = 0; s < systems.length; s++) {
      const o = genOut[s][i], l = mcOut[s][i];
      if (o) { if (g && g !== o) disagree[i] = 1; g = o; }
      if (l) { if (m && m !== l) disagree[i] = 1; m = l; }
    }
  }

  let haystack = null; // lower-case text of each row, made on the first search
  function searchText(i) {
    let text = col.claim[i] + "\n" + col.generic[i] + "\n" + col.id[i];
    for (let s = 0; s < systems.length; s++) if (genAns[s][i]) text += "\n" + genAns[s][i];
    return text.toLowerCase();
  }

  // -- the view's state, kept in the URL hash ----------------------------------------------
  const KEYS = ["split", "q", "family", "system", "outcome", "disagree", "text", "sort", "desc", "page"];
  let state = {};

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const next = {};
    for (const key of KEYS) if (params.get(key)) next[key] = params.get(key);
    return next;
  }

  function writeHash() {
    const params = new URLSearchParams();
    for (const key of KEYS) if (state[key]) params.set(key, state[key]);
    const hash = "#" + params.toString();
    const url = hash === "#" ? location.pathname + location.search : hash;
    if (location.hash !== (hash === "#" ? "" : hash)) history.replaceState(null, "", url);
  }

  // -- controls -------------------------------------------------------------------------
  const el = (id) => document.getElementById(id);
  function fill(select, options) {
    for (const [value, label] of options) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      select.appendChild(option);
    }
  }
  const distinct = (values) => [...new Set(values)].filter((v) => v !== "").sort();
  fill(el("ex-split"), [["", "all splits"], ...distinct(col.split).map((v) => [v, v])]);
  fill(el("ex-q"), [
    ["", "all quantifiers"],
    ...Object.entries(data.quantifiers).map(([k, v]) => [k, v]),
    ...Object.keys(data.groups).map((g) => [g, g]),
  ]);
  fill(el("ex-family"), [["", "all families"], ...distinct(col.family).map((v) => [v, v])]);
  fill(el("ex-system"), [["", "any system"], ...systems.map((s) => [s, s])]);
  fill(el("ex-outcome"), [
    ["", "any outcome"], ["correct", "correct"], ["tie", "tie"], ["wrong", "wrong"],
    ["ll-right", "LL right"], ["ll-wrong", "LL wrong"], ["unanswered", "no answer"],
  ]);
  const selects = { split: "ex-split", q: "ex-q", family: "ex-family", system: "ex-system", outcome: "ex-outcome" };
  for (const [key, id] of Object.entries(selects)) {
    el(id).addEventListener("change", () => { state[key] = el(id).value; state.page = ""; update(); });
  }
  el("ex-disagree").addEventListener("change", () => {
    state.disagree = el("ex-disagree").checked ? "1" : ""; state.page = ""; update();
  });
  el("ex-text").addEventListener("input", () => { state.text = el("ex-text").value; state.page = ""; update(); });
  el("ex-prev").addEventListener("click", () => { state.page = String(page() - 1); update(); });
  el("ex-next").addEventListener("click", () => { state.page = String(page() + 1); update(); });
  el("ex-reset").addEventListener("click", () => { state = {}; update(); });
  window.addEventListener("hashchange", () => {
    state = readHash();
    update(false);
    root.scrollIntoView();
  });

  function showControls() {
    for (const [key, id] of Object.entries(selects)) el(id).value = state[key] || "";
    el("ex-disagree").checked = state.disagree === "1";
    if (el("ex-text").value !== (state.text || "")) el("ex-text").value = state.text || "";
  }

  // -- filtering, counting, sorting ------------------------------------------------------
  function matcher() {
    const tests = [];
    if (state.split) tests.push((i) => col.split[i] === state.split);
    if (state.q) {
      const qs = data.groups[state.q] || [state.q];
      tests.push((i) => qs.includes(col.quantifier[i]));
    }
    if (state.family) tests.push((i) => col.family[i] === state.family);
    if (state.disagree === "1") tests.push((i) => disagree[i] === 1);
    if (state.outcome) {
      const chosen = state.system ? [systems.indexOf(state.system)] : systems.map((_, s) => s);
      const o = state.outcome;
      const one = o === "ll-right" ? (s, i) => mcOut[s][i] === 1
        : o === "ll-wrong" ? (s, i) => mcOut[s][i] === 2
        : o === "unanswered" ? (s, i) => !genOut[s][i] && !mcOut[s][i]
        : (s, i) => genOut[s][i] === OUTCOMES.indexOf(o);
      tests.push((i) => chosen.some((s) => s >= 0 && one(s, i)));
    } else if (state.system) {
      const s = systems.indexOf(state.system);
      tests.push((i) => s >= 0 && (genOut[s][i] !== 0 || mcOut[s][i] !== 0));
    }
    if (state.text) {
      if (haystack === null) haystack = Array.from({ length: n }, (_, i) => searchText(i));
      const needle = state.text.toLowerCase();
      tests.push((i) => haystack[i].includes(needle));
    }
    return tests;
  }

  function filtered() {
    const tests = matcher();
    const out = [];
    outer: for (let i = 0; i < n; i++) {
      for (const t of tests) if (!t(i)) continue outer;
      out.push(i);
    }
    return out;
  }

  function sortKey() {
    const key = state.sort || "";
    const [kind, which] = key.split(":");
    const s = systems.indexOf(which);
    if (kind === "outcome" && s >= 0) return (i) => genOut[s][i] || 9;
    if (kind === "margin" && s >= 0) return (i) => (isNaN(mcMargin[s][i]) ? Infinity : mcMargin[s][i]);
    if (kind === "quantifier") return (i) => QORDER.indexOf(col.quantifier[i]);
    if (kind === "label") return (i) => (col.label[i] ? 1 : 0);
    if (col[kind]) return (i) => col[kind][i];
    return null;
  }

  function sorted(rows) {
    const key = sortKey();
    if (key === null) return rows;
    const keys = new Map(rows.map((i) => [i, key(i)]));
    const sign = state.desc === "1" ? -1 : 1;
    return rows.sort((a, b) => {
      const x = keys.get(a), y = keys.get(b);
      return x < y ? -sign : x > y ? sign : a - b;
    });
  }

  function counts(rows) {
    return systems.map((name, s) => {
      const c = { system: name, gen: 0, correct: 0, tie: 0, wrong: 0, mc: 0, ll_right: 0 };
      for (const i of rows) {
        const o = genOut[s][i];
        if (o) { c.gen++; c[OUTCOMES[o]]++; }
        if (mcOut[s][i]) { c.mc++; if (mcOut[s][i] === 1) c.ll_right++; }
      }
      return c;
    });
  }

  // -- drawing ---------------------------------------------------------------------------
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  const pct = (k, n) => (n ? " (" + ((100 * k) / n).toFixed(1) + "%)" : "");
  function drawCounts(rows) {
    el("ex-count").textContent = rows.length + (rows.length === 1 ? " claim" : " claims");
    const body = el("ex-counts").tBodies[0];
    body.textContent = "";
    for (const c of counts(rows)) {
      const tr = document.createElement("tr");
      tr.dataset.system = c.system;
      for (const k of ["gen", "correct", "tie", "wrong", "mc", "ll_right"]) tr.dataset[k] = c[k];
      cell(tr, c.system);
      cell(tr, c.gen ? String(c.gen) : "–");
      cell(tr, c.gen ? c.correct + pct(c.correct, c.gen) : "–");
      cell(tr, c.gen ? c.tie + pct(c.tie, c.gen) : "–");
      cell(tr, c.gen ? c.wrong + pct(c.wrong, c.gen) : "–");
      cell(tr, c.mc ? String(c.mc) : "–");
      cell(tr, c.mc ? c.ll_right + pct(c.ll_right, c.mc) : "–");
      body.appendChild(tr);
    }
  }

  function header(label, key) {
    const th = document.createElement("th");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label + (state.sort === key ? (state.desc === "1" ? " ▼" : " ▲") : "");
    button.dataset.sort = key;
    button.addEventListener("click", () => {
      state.desc = state.sort === key && state.desc !== "1" ? "1" : "";
      state.sort = key;
      update();
    });
    th.appendChild(button);
    return th;
  }

  function drawHead() {
    const tr = el("ex-rows").tHead.rows[0];
    tr.textContent = "";
    const fixed = [["claim", "claim"], ["gold", "label"], ["quantifier", "quantifier"],
      ["split", "split"], ["construction / family", "family"], ["generic", "generic"]];
    for (const [label, key] of fixed) tr.appendChild(header(label, key));
    systems.forEach((name, s) => {
      if (hasGen[s]) tr.appendChild(header(name, "outcome:" + name));
      if (hasMc[s]) tr.appendChild(header(name + ": log P(True) − log P(False)", "margin:" + name));
    });
  }

  function answerCell(tr, s, i) {
    const o = genOut[s][i];
    const td = cell(tr, "", o ? "gen " + OUTCOMES[o] : "gen none");
    if (!o) { td.textContent = "–"; return; }
    const head = document.createElement("div");
    head.className = "verdict";
    const said = genVerdict[s][i] === "tie" ? "neither true nor false" : genVerdict[s][i];
    head.textContent = OUTCOMES[o] + " · says " + said;
    const answer = document.createElement("div");
    answer.className = "answer";
    answer.tabIndex = 0;
    answer.title = "click to show the whole answer";
    answer.textContent = genAns[s][i];
    td.append(head, answer);
  }

  function drawRows(rows) {
    const body = el("ex-rows").tBodies[0];
    body.textContent = "";
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    const p = Math.min(Math.max(1, page()), pages);
    el("ex-page").textContent = "page " + p + " of " + pages;
    el("ex-prev").disabled = p <= 1;
    el("ex-next").disabled = p >= pages;
    for (const i of rows.slice((p - 1) * PAGE_SIZE, p * PAGE_SIZE)) {
      const tr = document.createElement("tr");
      tr.dataset.id = col.id[i];
      cell(tr, col.claim[i], "claim");
      cell(tr, col.label[i] ? "true" : "false");
      cell(tr, data.quantifiers[col.quantifier[i]] || col.quantifier[i]);
      cell(tr, col.split[i]);
      const family = col.construction[i] === col.family[i] || !col.family[i]
        ? col.construction[i] : col.construction[i] + " / " + col.family[i];
      cell(tr, family);
      cell(tr, col.generic[i]);
      systems.forEach((_, s) => {
        if (hasGen[s]) answerCell(tr, s, i);
        if (hasMc[s]) {
          const l = mcOut[s][i];
          const m = mcMargin[s][i];
          cell(tr, !l ? "–" : isNaN(m) ? LL[l] : m.toFixed(2), l ? "mc " + LL[l] : "mc none");
        }
      });
      body.appendChild(tr);
    }
  }

  el("ex-rows").tBodies[0].addEventListener("click", (event) => {
    const answer = event.target.closest(".answer");
    if (answer) answer.classList.toggle("open");
  });
  el("ex-rows").tBodies[0].addEventListener("keydown", (event) => {
    const answer = event.target.closest(".answer");
    if (answer && event.key === "Enter") answer.classList.toggle("open");
  });

  function page() { return parseInt(state.page || "1", 10) || 1; }

  function update(write = true) {
    const started = performance.now();
    if (write) writeHash();
    showControls();
    const rows = sorted(filtered());
    drawCounts(rows);
    drawHead();
    drawRows(rows);
    root.dataset.renderMs = (performance.now() - started).toFixed(1);
    if (!root.dataset.readyAt) root.dataset.readyAt = performance.now().toFixed(1); // since navigation
    root.dataset.ready = "1";
  }

  state = readHash();
  update(false);
  if (location.hash.length > 1) root.scrollIntoView();
})();
