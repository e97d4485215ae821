// The logwarden page: a timeline of anomalies by tier, incidents, an incident with the 30
// minutes before it, the pattern report and mutes, all read from /api/v1 of the same server.
// Plain JavaScript, no build step: the files are compiled into the binary.
"use strict";

const TIERS = ["low", "moderate", "critical"];
const state = {
  token: localStorage.getItem("logwarden.token") || "",
  user: localStorage.getItem("logwarden.user") || "",
  hours: Number(localStorage.getItem("logwarden.hours") || 24),
  page: 1,
  tier: "",
};
const main = document.getElementById("main");

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function when(t) {
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function minutesBetween(a, b) {
  return Math.max(0, Math.round((new Date(b) - new Date(a)) / 60000));
}

function number(x) {
  if (typeof x !== "number") return esc(x);
  return Math.abs(x) >= 100 || Number.isInteger(x) ? x.toFixed(0) : x.toPrecision(3);
}

function tier(t) {
  return `<span class="tier ${esc(t)}">${esc(t)}</span>`;
}

function notice(text, ok) {
  const n = document.getElementById("notice");
  n.textContent = text;
  n.className = ok ? "ok" : "";
  n.hidden = !text;
}

function showLogin() {
  document.getElementById("login").hidden = false;
  document.getElementById("token").focus();
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch("/api/v1/" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let v;
  try {
    v = await r.json();
  } catch {
    v = { error: `HTTP ${r.status}, not JSON` };
  }
  if (r.status === 401) {
    showLogin();
    throw new ApiError("the API wants a token", 401);
  }
  if (!r.ok) throw new ApiError(v.error + (v.field ? ` (${v.field})` : ""), r.status);
  return v;
}

function range() {
  const to = new Date();
  const from = new Date(to.getTime() - state.hours * 3600 * 1000);
  return { from: from.toISOString(), to: to.toISOString() };
}

function query(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== "" && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");
}

// --- the timeline and the incident list ---

function timelineSvg(tl) {
  const W = 1000, H = 130, top = 12, bottom = 18;
  const t0 = new Date(tl.from).getTime(), t1 = new Date(tl.to).getTime();
  const span = Math.max(1, t1 - t0);
  const bw = Math.max(1.5, ((tl.bucket_minutes * 60000) / span) * W - 1);
  const max = Math.max(1, ...tl.buckets.map((b) => b.low + b.moderate + b.critical));
  const scale = (H - top - bottom) / max;
  let bars = "";
  for (const b of tl.buckets) {
    const x = ((new Date(b.t).getTime() - t0) / span) * W;
    let y = H - bottom;
    for (const k of TIERS) {
      if (!b[k]) continue;
      const h = Math.max(1, b[k] * scale);
      y -= h;
      bars += `<rect class="bar ${k}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(when(b.t))}: ${b[k]} ${k}</title></rect>`;
    }
  }
  return `<svg id="timeline" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="anomalies by tier">
    <line x1="0" y1="${H - bottom}" x2="${W}" y2="${H - bottom}" stroke="#ccc"/>
    ${bars}
    <text x="2" y="10">${max} a ${tl.bucket_minutes} min bucket</text>
    <text x="2" y="${H - 4}">${esc(when(tl.from))}</text>
    <text x="${W - 2}" y="${H - 4}" text-anchor="end">${esc(when(tl.to))}</text>
  </svg>`;
}

async function home() {
  const r = range();
  const [tl, inc] = await Promise.all([
    api("GET", "timeline?" + query(r)),
    api("GET", "incidents?" + query({ ...r, tier: state.tier, size: 50, page: state.page })),
  ]);
  const pages = Math.max(1, Math.ceil(inc.total / inc.size));
  const rows = inc.incidents
    .map((d) => {
      const i = d.incident;
      return `<tr class="row" data-incident-id="${esc(i.id)}">
        <td>${tier(i.severity)}</td><td>${esc(when(i.start))}</td><td>${minutesBetween(i.start, i.end)} min</td>
        <td>${esc((i.services || []).join(", "))}</td><td>${esc(i.anomaly_count)}</td><td>${esc(i.title)}</td></tr>`;
    })
    .join("");
  main.innerHTML = `<h1>Anomalies by tier</h1>
    <div class="legend">${TIERS.map((k) => `<span><i style="background:var(--${k})"></i>${k}</span>`).join("")}
      <span class="muted">${tl.total} anomalies in range</span></div>
    ${timelineSvg(tl)}
    <h2>Incidents</h2>
    <div class="filters">Tier <select id="tier">
      <option value="">all</option>${TIERS.slice().reverse().map((k) => `<option ${state.tier === k ? "selected" : ""}>${k}</option>`).join("")}
    </select> <span class="muted" id="incident-count">${inc.total} incidents</span></div>
    <table id="incidents"><thead><tr><th>Tier</th><th>Start</th><th>Lasted</th><th>Services</th><th>Anomalies</th><th>What</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="6" class="muted">No incidents in this range.</td></tr>`}</tbody></table>
    <div class="pager"><button id="prev" ${state.page <= 1 ? "disabled" : ""}>Newer</button>
      <span>page ${state.page} of ${pages}</span><button id="next" ${state.page >= pages ? "disabled" : ""}>Older</button></div>`;
  document.getElementById("tier").onchange = (e) => {
    state.tier = e.target.value;
    state.page = 1;
    route();
  };
  document.getElementById("prev").onclick = () => { state.page -= 1; route(); };
  document.getElementById("next").onclick = () => { state.page += 1; route(); };
  for (const tr of main.querySelectorAll("tr[data-incident-id]")) {
    tr.onclick = () => { location.hash = "#/incident/" + encodeURIComponent(tr.dataset.incidentId); };
  }
}

// --- one incident ---

function compareSvg(a) {
  const o = a.anomaly.observed, e = a.anomaly.expected;
  const max = Math.max(Math.abs(o), Math.abs(e), 1e-9);
  const w = (x) => Math.max(1, (Math.abs(x) / max) * 300);
  return `<svg class="compare" viewBox="0 0 460 38" width="460" height="38" role="img" aria-label="observed against expected">
    <rect class="obs" x="70" y="2" height="14" width="${w(o).toFixed(1)}"/><text x="0" y="13">observed</text>
    <text x="${(76 + w(o)).toFixed(1)}" y="13">${number(o)} ${esc(a.anomaly.unit)}</text>
    <rect class="exp" x="70" y="21" height="14" width="${w(e).toFixed(1)}"/><text x="0" y="32">expected</text>
    <text x="${(76 + w(e)).toFixed(1)}" y="32">${number(e)} ${esc(a.anomaly.unit)}</text></svg>`;
}

function feedbackText(f) {
  if (!f) return "";
  let s = "";
  if (f.label) s += `marked ${esc(f.label)}${f.by ? " by " + esc(f.by) : ""}${f.comment ? ": " + esc(f.comment) : ""}. `;
  if (f.suppressed_by) s += `Lowered by feedback: ${esc(f.suppressed_by)}. `;
  if (f.muted_by) s += `Muted: ${esc(f.muted_by)}.`;
  return s;
}

function anomalyCard(a) {
  const x = a.anomaly;
  const examples = (a.pattern.examples || []).slice(0, 5).map((l) => esc(l)).join("\n");
  return `<div class="card anomaly" data-anomaly-id="${esc(x.id)}" data-service="${esc(a.service.name)}" data-pattern="${esc(a.pattern.id)}" data-type="${esc(x.type)}">
    <h3>${tier(x.severity)} ${esc(x.type)} on ${esc(a.service.name)} <span class="muted">score ${number(x.score)},
      confidence ${number(x.confidence)}, ${esc(when(x.window.start))}–${esc(when(x.window.end))}</span></h3>
    <div class="why">${esc(x.explanation)}</div>
    ${compareSvg(a)}
    <div class="muted">pattern ${esc(a.pattern.id)}: <code>${esc(a.pattern.template)}</code></div>
    ${examples ? `<pre class="examples">${examples}</pre>` : ""}
    <div class="actions">
      <button class="fp" data-action="false_positive">False positive</button>
      <button class="ok" data-action="confirmed">Confirmed</button>
      <button data-action="mute-pattern">Mute pattern 2h</button>
      <button data-action="mute-service">Mute service 2h</button>
      <span class="done feedback">${feedbackText(a.feedback)}</span>
    </div></div>`;
}

function minutesSvg(service, counts, start) {
  const W = 460, H = 50;
  const max = Math.max(1, ...counts.map((c) => c.n));
  const bw = W / Math.max(1, counts.length);
  const s = new Date(start).getTime();
  let bars = "", mark = "";
  counts.forEach((c, k) => {
    const h = (c.n / max) * (H - 14);
    bars += `<rect class="obs" x="${(k * bw).toFixed(1)}" y="${(H - 12 - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(when(c.t))}: ${c.n}</title></rect>`;
    if (!mark && new Date(c.t).getTime() >= s) {
      mark = `<line x1="${(k * bw).toFixed(1)}" y1="0" x2="${(k * bw).toFixed(1)}" y2="${H - 12}" stroke="var(--critical)"/>`;
    }
  });
  return `<div><b>${esc(service)}</b> <span class="muted">lines a minute (max ${max}); the red line is the start</span><br>
    <svg class="minutes" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${bars}${mark}</svg></div>`;
}

async function incident(id) {
  const v = await api("GET", "incidents/" + encodeURIComponent(id));
  const i = v.incident.incident;
  const b = v.before;
  const links = [
    v.links.discover ? `<a href="${esc(v.links.discover)}" target="_blank" rel="noopener">Kibana Discover, the 30 minutes before</a>` : "",
    v.links.dashboard ? `<a href="${esc(v.links.dashboard)}" target="_blank" rel="noopener">Incidents dashboard</a>` : "",
  ].filter(Boolean).join(" · ");
  const earlier = b.anomalies
    .map((a) => `<tr><td>${tier(a.anomaly.severity)}</td><td>${esc(when(a["@timestamp"]))}</td><td>${esc(a.service.name)}</td><td>${esc(a.anomaly.explanation)}</td></tr>`)
    .join("");
  const lines = b.lines
    .map((l) => `<tr><td>${esc(when(l.time))}</td><td>${esc(l.service)}</td><td>${esc(l.level)}</td><td><code>${esc(l.message)}</code></td></tr>`)
    .join("");
  main.innerHTML = `<p><a href="#/">← incidents</a></p>
    <h1 id="incident-title" data-incident-id="${esc(i.id)}">${tier(i.severity)} ${esc(i.title)}</h1>
    <p>${esc(when(i.start))} – ${esc(when(i.end))} (${minutesBetween(i.start, i.end)} min) · ${esc((i.services || []).join(", "))} ·
      ${esc(i.anomaly_count)} anomalies ${links ? "· " + links : ""}</p>
    <div class="actions">
      <label>Your name <input id="user" value="${esc(state.user)}" size="12"></label>
      <button class="fp" id="incident-fp">Whole incident: false positive</button>
      <button class="ok" id="incident-ok">Whole incident: confirmed</button>
    </div>
    <h2>Anomalies</h2>
    <div id="anomalies">${v.anomalies.map(anomalyCard).join("")}</div>
    <h2 id="before">The 30 minutes before</h2>
    ${Object.entries(b.lines_per_minute).map(([s, c]) => minutesSvg(s, c, i.start)).join("")}
    ${b.lines_error ? `<p class="muted">Lines could not be read: ${esc(b.lines_error)}</p>` : ""}
    <h2>Other anomalies then</h2>
    ${earlier ? `<table><tbody>${earlier}</tbody></table>` : `<p class="muted">None.</p>`}
    <h2>Lines of ${esc((i.services || []).join(", "))} then <span class="muted">(warnings and errors first)</span></h2>
    ${lines ? `<table id="lines"><tbody>${lines}</tbody></table>` : `<p class="muted">None.</p>`}`;
  document.getElementById("user").onchange = (e) => {
    state.user = e.target.value.trim();
    localStorage.setItem("logwarden.user", state.user);
  };
  const whole = (label) => async () => {
    const r = await api("POST", `incidents/${encodeURIComponent(i.id)}/feedback`, mark(label));
    notice(`Marked ${r.anomalies} anomalies ${label}; the sidecar learns it on its next window.`, true);
    route();
  };
  document.getElementById("incident-fp").onclick = guard(whole("false_positive"));
  document.getElementById("incident-ok").onclick = guard(whole("confirmed"));
  for (const card of main.querySelectorAll(".card.anomaly")) {
    for (const btn of card.querySelectorAll("button[data-action]")) {
      btn.onclick = guard(() => act(card, btn.dataset.action));
    }
  }
}

function mark(label) {
  const body = { label };
  if (state.user) body.by = state.user;
  return body;
}

async function act(card, action) {
  const id = card.dataset.anomalyId;
  const out = card.querySelector(".feedback");
  if (action === "false_positive" || action === "confirmed") {
    await api("POST", `anomalies/${encodeURIComponent(id)}/feedback`, mark(action));
    out.textContent = `marked ${action}${state.user ? " by " + state.user : ""}; the sidecar learns it on its next window.`;
    card.dataset.feedback = action;
  } else {
    const body = { for: "2h", reason: "muted from the page" };
    if (state.user) body.by = state.user;
    if (action === "mute-pattern") {
      body.service = card.dataset.service;
      body.pattern = card.dataset.pattern;
    } else {
      body.service = card.dataset.service;
    }
    const m = await api("POST", "mutes", body);
    out.textContent = `muted (${m.id}) until ${when(m.until)}.`;
    card.dataset.muted = m.id;
  }
}

// --- the pattern report ---

async function patterns(source) {
  const { sources } = await api("GET", "sources");
  if (!source && sources.length) source = sources[0];
  const picker = `<label>Source <select id="source">${sources.map((s) => `<option ${s === source ? "selected" : ""}>${esc(s)}</option>`).join("")}</select></label>`;
  let body;
  try {
    const r = await api("GET", "patterns?" + query({ source }));
    body = `<p id="coverage"><b>${r.entries_for_90}</b> of ${r.entry_count} patterns carry 90% of the ${r.lines} lines
      (${r.entries_for_99} carry 99%), across ${r.service_count} services.</p>` +
      r.services.map((s) => `<h2>${esc(s.service)} <span class="muted">${s.lines} lines, ${(s.share * 100).toFixed(1)}% of all;
        errors ${(s.error_share * 100).toFixed(2)}%, warnings ${(s.warn_share * 100).toFixed(2)}%</span></h2>
        <table class="patterns"><thead><tr><th>Pattern</th><th>Share</th><th>Cumulative</th><th>Errors</th><th>A bucket</th><th>Busiest hour</th><th>Example</th></tr></thead><tbody>
        ${s.entries.map((e) => `<tr><td>${esc(e.id)}</td><td><span class="share" style="width:${Math.max(1, e.share * 80).toFixed(0)}px"></span> ${(e.share * 100).toFixed(1)}%</td>
          <td>${(e.cumulative * 100).toFixed(1)}%</td><td>${(e.error_share * 100).toFixed(1)}%</td><td>${number(e.per_bucket)}</td>
          <td>${e.busiest_hour ?? ""}</td><td><code>${esc(e.example)}</code></td></tr>`).join("")}</tbody></table>`).join("");
  } catch (e) {
    if (e.status !== 404) throw e;
    body = `<p class="muted">${esc(e.message)}</p>`;
  }
  main.innerHTML = `<h1>What the logs are made of</h1>${picker}${body}`;
  document.getElementById("source").onchange = (e) => { location.hash = "#/patterns/" + encodeURIComponent(e.target.value); };
}

// --- mutes ---

async function mutes() {
  const { mutes } = await api("GET", "mutes");
  const rows = mutes
    .map((m) => `<tr data-mute-id="${esc(m.id)}"><td>${esc(m.id)}</td><td>${esc([m.service, m.pattern, m.kind].filter(Boolean).join(" / "))}</td>
      <td>${esc(when(m.from))} – ${esc(when(m.until))}</td><td>${m.active ? "in force" : "not in force"}</td><td>${esc(m.reason)}</td><td>${esc(m.by)}</td>
      <td><button data-lift="${esc(m.id)}">Lift</button></td></tr>`)
    .join("");
  main.innerHTML = `<h1>Mutes</h1><p class="muted">Muted anomalies are still written, never routed.</p>
    <form class="mute" id="mute-form"><input name="service" placeholder="service"><input name="pattern" placeholder="pattern id">
      <select name="type"><option value="">any type</option>${["new_pattern", "rare_pattern", "volume_spike", "volume_drop", "error_ratio", "parameter_drift", "forecast_breach"].map((t) => `<option>${t}</option>`).join("")}</select>
      <input name="for" value="2h" size="5"><input name="reason" placeholder="reason"><button type="submit">Mute</button></form>
    <table id="mutes"><thead><tr><th>Id</th><th>What</th><th>When</th><th>State</th><th>Reason</th><th>By</th><th></th></tr></thead>
    <tbody>${rows || `<tr><td colspan="7" class="muted">No mutes.</td></tr>`}</tbody></table>`;
  document.getElementById("mute-form").onsubmit = guard(async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k, v] of new FormData(e.target)) if (v.trim()) body[k] = v.trim();
    if (state.user) body.by = state.user;
    await api("POST", "mutes", body);
    route();
  });
  for (const b of main.querySelectorAll("button[data-lift]")) {
    b.onclick = guard(async () => { await api("DELETE", "mutes/" + encodeURIComponent(b.dataset.lift)); route(); });
  }
}

// --- routing ---

function guard(f) {
  return async (...args) => {
    try {
      notice("");
      await f(...args);
    } catch (e) {
      if (e.status !== 401) notice(e.message);
    }
  };
}

const route = guard(async () => {
  const started = performance.now();
  delete document.body.dataset.loaded;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.nav === (parts[0] || "home") || (parts[0] === "incident" && a.dataset.nav === "home"));
  }
  if (parts[0] === "incident" && parts[1]) await incident(parts[1]);
  else if (parts[0] === "patterns") await patterns(parts[1]);
  else if (parts[0] === "mutes") await mutes();
  else await home();
  // How long the view took (fetches and drawing), for the benchmark.
  document.body.dataset.routeMs = (performance.now() - started).toFixed(0);
  document.body.dataset.loaded = location.hash || "#/";
});

document.getElementById("login").onsubmit = (e) => {
  e.preventDefault();
  state.token = document.getElementById("token").value.trim();
  localStorage.setItem("logwarden.token", state.token);
  document.getElementById("login").hidden = true;
  route();
};
const picker = document.getElementById("range");
picker.value = String(state.hours);
picker.onchange = () => {
  state.hours = Number(picker.value);
  localStorage.setItem("logwarden.hours", picker.value);
  state.page = 1;
  route();
};
window.addEventListener("hashchange", route);
route();
