// The annotation page's script, served by web.py at /app.js. Model text is data: the DOM
// is built with textContent only, never innerHTML, so an answer holding <script> shows
// as those characters.
"use strict";
let state = null;
let dims = [];
const rater = new URLSearchParams(location.search).get("annotator");

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;  // never innerHTML: model text is data
  if (cls) node.className = cls;
  return node;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)};
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function say(text) { document.getElementById("message").textContent = text || ""; }

function keysOf(dim) { return dim.keys; }

// "yes (1)" for a label whose caption differs from it; the label itself otherwise.
function shown(dim, label) {
  const caption = dim.captions[label];
  return caption === label ? label : caption + " (" + label + ")";
}

function render() {
  document.getElementById("rater").textContent = state.annotator;
  const p = state.progress;
  document.getElementById("progress").textContent = p.done + "/" + p.total + " done";
  const bar = document.getElementById("bar");
  bar.max = Math.max(p.total, 1); bar.value = p.done;
  document.body.dataset.done = String(p.done);
  if (!state.item) {
    document.getElementById("rate").hidden = true;
    document.getElementById("finished").hidden = false;
    return;
  }
  document.getElementById("finished").hidden = true;
  document.getElementById("rate").hidden = false;
  document.getElementById("rate").dataset.itemId = state.item.item_id;
  document.getElementById("claim").textContent = state.item.claim;
  document.getElementById("answer").textContent = state.item.answer;
  const box = document.getElementById("questions");
  box.replaceChildren();
  const active = state.pending[0];
  for (const dim of dims) {
    const q = el("div", undefined, "question" + (dim.name === active ? " active" : ""));
    q.dataset.dimension = dim.name;
    q.append(el("div", dim.question), el("div", dim.definition, "definition"));
    const row = el("div");
    if (dim.name in state.given) {
      row.append(el("span", "answered: " + shown(dim, state.given[dim.name]), "given"));
    } else {
      for (const [key, label] of Object.entries(keysOf(dim))) {
        if (dim.hide_keys.includes(key)) continue;
        const b = el("button", dim.captions[label] + " (" + key + ")");
        b.type = "button";
        b.addEventListener("click", () => rate(dim.name, label));
        row.append(b);
      }
    }
    q.append(row);
    box.append(q);
  }
}

async function rate(dimension, value) {
  try {
    const data = await api("/api/rate", {annotator: rater, item_id: state.item.item_id,
                                         dimension: dimension, value: value});
    state = data; say(""); render();
  } catch (e) { say(e.message); }
}

async function command(name) {
  const body = {annotator: rater};
  if (state.item) body.item_id = state.item.item_id;
  try { state = await api("/api/" + name, body); say(""); render(); }
  catch (e) { say(e.message); }
}

document.addEventListener("keydown", (event) => {
  if (!state || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "u") { command("undo"); return; }
  if (!state.item) return;
  if (event.key === "s") { command("skip"); return; }
  const dim = dims.find((d) => d.name === state.pending[0]);
  if (dim && event.key in dim.keys) rate(dim.name, dim.keys[event.key]);
});

async function start() {
  const info = await api("/api/raters");
  dims = info.dimensions;
  if (!rater || !info.raters.includes(rater)) {
    if (rater) say("unknown rater: " + rater);
    document.getElementById("who").hidden = true;
    const list = document.getElementById("raters");
    for (const name of info.raters) {
      const a = el("a", name);
      a.href = "/?annotator=" + encodeURIComponent(name);
      const li = el("li"); li.append(a); list.append(li);
    }
    document.getElementById("choose").hidden = false;
    return;
  }
  document.getElementById("undo").addEventListener("click", () => command("undo"));
  document.getElementById("skip").addEventListener("click", () => command("skip"));
  state = await api("/api/state?annotator=" + encodeURIComponent(rater));
  render();
  document.body.dataset.ready = "1";
}

start().catch((e) => say(e.message));
