// The live cluster page. It polls /v1/self and /v1/members every second,
// follows /v1/events for changes as they happen (and redraws at once on
// each), and greys the whole view out as stale as soon as the agent stops
// answering. Tests read its state from data attributes:
// body[data-state] is "connecting", "live" or "stale"; each member row is
// tr[data-node][data-status]; each event is li[data-kind][data-node].
"use strict";

const POLL_MS = 1000;
const TIMEOUT_MS = 2500; // a poll not answered by then counts as no answer
const MAX_EVENTS = 200;
const LIVE = ["up", "suspect", "joining", "leaving"];
const TOMBSTONES = ["dead", "removed"];

const page = {
  lastOK: null, // when the agent last answered
  statuses: new Map(), // node key → status at the last redraw
  lastEvent: null, // the newest member event shown
};

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clock(d) {
  return d.toLocaleTimeString([], { hour12: false });
}

function ago(d) {
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  return s < 60 ? s + " s ago" : Math.floor(s / 60) + " min " + (s % 60) + " s ago";
}

// tagList returns a member's tags as "key=value" strings, whether the agent
// sends them as an object or a list.
function tagList(m) {
  if (!m.tags) return [];
  if (Array.isArray(m.tags)) return m.tags.map(String);
  return Object.keys(m.tags).sort().map((k) => k + "=" + m.tags[k]);
}

// label is how the page names a member: its agent's --name, else its node
// ID (a node whose metadata is not the agent's encoding).
function label(m) {
  return m.name || m.node_id;
}

function badge(status) {
  return el("span", "status status-" + status, status);
}

// --- connection state ---

function setLive() {
  document.body.dataset.state = "live";
  $("conn").textContent = "live";
  $("stale").hidden = true;
  showUpdated();
}

function setStale(reason) {
  document.body.dataset.state = page.lastOK ? "stale" : "connecting";
  $("conn").textContent = page.lastOK ? "stale" : "unreachable";
  $("stale").hidden = false;
  $("stale").dataset.reason = reason;
  document.title = "STALE · hearsay cluster";
  showUpdated();
}

// showUpdated redraws the times that age: "last updated", the banner and
// the last change.
function showUpdated() {
  if (page.lastEvent) {
    const when = new Date(page.lastEvent.time);
    $("last-change-when").textContent = clock(when) + " · " + ago(when);
  }
  const reason = $("stale").dataset.reason || "no answer";
  if (!page.lastOK) {
    $("updated").textContent = "never";
    $("stale-reason").textContent = "— cannot reach the agent at " + location.origin + ": " + reason + ".";
    return;
  }
  $("updated").textContent = clock(page.lastOK) + " (" + ago(page.lastOK) + ")";
  $("updated").dateTime = page.lastOK.toISOString();
  $("stale-reason").textContent = "— the agent at " + location.origin + " has not answered since " +
    clock(page.lastOK) + " (" + ago(page.lastOK) + "): " + reason + ". Below is the last view it gave.";
}

// --- members ---

function renderSelf(self) {
  const s = $("self");
  const name = el("b", "", label(self));
  name.title = "node ID " + self.node_id;
  s.replaceChildren("view of ", name, " at ", el("span", "mono", self.authority), " ", badge(self.status));
}

function renderCounts(members) {
  const counts = {};
  for (const m of members) counts[m.status] = (counts[m.status] || 0) + 1;
  const sum = (list) => list.reduce((n, s) => n + (counts[s] || 0), 0);
  const detail = (list) => {
    const parts = list.filter((s) => counts[s]).map((s) => el("span", "count-" + s, counts[s] + " " + s));
    return parts.length ? parts : [el("span", "muted", "none")];
  };
  $("count-live").textContent = sum(LIVE);
  $("count-tomb").textContent = sum(TOMBSTONES);
  $("detail-live").replaceChildren(...detail(LIVE));
  $("detail-tomb").replaceChildren(...detail(TOMBSTONES));
  document.title = sum(LIVE) + " live · hearsay cluster";
}

function renderMembers(members, self) {
  renderCounts(members);
  const rank = (m) => (TOMBSTONES.includes(m.status) ? 1 : 0);
  const sorted = members.slice().sort((a, b) =>
    rank(a) - rank(b) || label(a).localeCompare(label(b)) || a.authority.localeCompare(b.authority));
  // The tags column shows only when a member has tags; the raw metadata
  // only when a member's is not the agent's encoding (it has no name).
  $("members-table").classList.toggle("no-tags", !members.some((m) => tagList(m).length));
  $("members-table").classList.toggle("no-meta", !members.some((m) => !m.name && m.meta));
  const body = $("members");
  body.replaceChildren();
  const seen = new Map();
  for (const m of sorted) {
    const key = m.node_id + "@" + m.authority;
    seen.set(key, m.status);
    const tr = el("tr");
    tr.dataset.node = label(m);
    tr.dataset.status = m.status;
    if (rank(m)) tr.classList.add("tombstone");
    const before = page.statuses.get(key);
    if (page.statuses.size && before !== m.status) tr.classList.add("changed");

    const name = el("td", "node", label(m));
    name.title = "node ID " + m.node_id;
    if (self && m.authority === self.authority && m.node_id === self.node_id) name.append(" ", el("span", "you", "this agent"));
    tr.append(name, el("td", "mono", m.authority));
    const st = el("td");
    st.append(badge(m.status));
    tr.append(st, el("td", "mono num", String(m.incarnation)));
    const tags = el("td", "tags-col");
    for (const t of tagList(m)) tags.append(el("span", "tag", t));
    tr.append(tags, el("td", "meta-col", m.name ? "" : m.meta || ""));
    body.append(tr);
  }
  if (!sorted.length) {
    const tr = el("tr");
    const td = el("td", "muted", "No members.");
    td.colSpan = 6;
    tr.append(td);
    body.append(tr);
  }
  page.statuses = seen;
}

let polling = false;
let pollAgain = false;

async function getJSON(path, signal) {
  const r = await fetch(path, { cache: "no-store", signal });
  if (!r.ok) throw new Error(path + " answered HTTP " + r.status);
  return r.json();
}

// refresh reads the agent's view once; a call while one runs makes it run
// again after.
async function refresh() {
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const [self, members] = await Promise.all([getJSON("v1/self", ctl.signal), getJSON("v1/members", ctl.signal)]);
    page.lastOK = new Date();
    renderSelf(self);
    renderMembers(members, self);
    setLive();
  } catch (e) {
    let reason = String(e.message || e);
    if (e.name === "AbortError") reason = "no answer within " + TIMEOUT_MS / 1000 + " s";
    else if (e instanceof TypeError) reason = "the connection failed";
    setStale(reason);
  } finally {
    clearTimeout(timer);
    polling = false;
    if (pollAgain) {
      pollAgain = false;
      refresh();
    }
  }
}

// --- events ---

function setStream(text) {
  $("stream").textContent = text;
  $("stream").dataset.state = text;
}

function pushEvent(li) {
  const list = $("events");
  const empty = list.querySelector(".empty");
  if (empty) empty.remove();
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

function addEvent(e) {
  const li = el("li", "event");
  li.dataset.kind = e.kind;
  li.dataset.node = label(e);
  const t = el("time", "when", clock(new Date(e.time)));
  t.dateTime = e.time;
  const what = el("div", "what");
  what.append(el("b", "", label(e)), " ", el("span", "change", (e.from || "new") + " → " + e.to));
  const detail = el("div", "detail muted");
  detail.append(el("span", "mono", e.authority));
  if (e.kind === "update") detail.append(" ", el("span", "tags", tagList(e).join(" ") || "no tags"));
  li.title = "node ID " + e.node_id + ", incarnation " + e.incarnation;
  what.append(detail);
  li.append(t, el("span", "kind kind-" + e.kind, e.kind), what);
  pushEvent(li);
  if (!page.lastEvent || new Date(e.time) >= new Date(page.lastEvent.time)) {
    page.lastEvent = e;
    $("last-change").replaceChildren(el("span", "kind kind-" + e.kind, e.kind), " ", el("b", "", label(e)));
    showUpdated();
  }
}

function addNotice(text, time) {
  const li = el("li", "notice");
  li.append(el("time", "when", clock(time ? new Date(time) : new Date())), el("span", "notice-text", text));
  pushEvent(li);
}

// follow opens /v1/events; the browser reconnects by itself (resuming with
// Last-Event-ID) after a network error, and follow opens a new stream when
// the agent refused one.
function follow() {
  const es = new EventSource("v1/events?history=1");
  es.onopen = () => setStream("live");
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      setStream("disconnected");
      setTimeout(follow, 2000);
    } else {
      setStream("reconnecting");
    }
  };
  es.addEventListener("member", (m) => {
    addEvent(JSON.parse(m.data));
    refresh();
  });
  es.addEventListener("dropped", (m) => {
    const d = JSON.parse(m.data);
    addNotice(d.missed + " events missed by this page", d.time);
    refresh();
  });
  es.addEventListener("shutdown", (m) => {
    addNotice("the agent is stopping", JSON.parse(m.data).time);
    setStale("the agent is stopping");
  });
}

refresh();
setInterval(refresh, POLL_MS);
setInterval(showUpdated, 1000);
follow();
