// The live cluster page: polls /v1/self and /v1/members and redraws the table.
"use strict";

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function render(members) {
  const body = document.getElementById("members");
  body.replaceChildren();
  const counts = {};
  for (const m of members) {
    counts[m.status] = (counts[m.status] || 0) + 1;
    const tr = document.createElement("tr");
    tr.appendChild(cell(m.node_id));
    tr.appendChild(cell(m.authority, "mono"));
    const st = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "status status-" + m.status;
    badge.textContent = m.status;
    st.appendChild(badge);
    tr.appendChild(st);
    tr.appendChild(cell(String(m.incarnation), "mono"));
    tr.appendChild(cell(m.meta || ""));
    body.appendChild(tr);
  }
  const parts = Object.keys(counts).sort().map((s) => counts[s] + " " + s);
  document.getElementById("summary").textContent =
    members.length + " members" + (parts.length ? " (" + parts.join(", ") + ")" : "");
}

async function refresh() {
  const err = document.getElementById("error");
  try {
    const [self, members] = await Promise.all([
      fetch("v1/self", { cache: "no-store" }).then((r) => r.json()),
      fetch("v1/members", { cache: "no-store" }).then((r) => r.json()),
    ]);
    document.getElementById("self").textContent =
      "this node: " + self.node_id + " at " + self.authority + " (" + self.status + ")";
    render(members);
    err.hidden = true;
  } catch (e) {
    err.textContent = "cannot reach the agent: " + e;
    err.hidden = false;
  }
}

refresh();
setInterval(refresh, 1000);
