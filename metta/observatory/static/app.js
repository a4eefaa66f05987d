// The Observatory's pages; one hash route each. Data comes from the JSON API in server.py.
"use strict";

const page = document.getElementById("page");
let timer = null;  // the current page's poller, stopped on navigation
const DEFAULT_KEYS = ["overview/reward", "overview/sps", "losses/policy_loss", "losses/value_loss",
  "losses/entropy", "timing/collect_s", "timing/update_s"];

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// The page has drawn what it loaded: tests wait on data-ready, the load benchmark reads renderedAt.
function ready() { page.dataset.ready = "1"; if (window.renderedAt === undefined) window.renderedAt = performance.now(); }
function h(html) { const t = document.createElement("template"); t.innerHTML = html.trim(); return t.content.firstElementChild; }
function when(seconds) { return seconds ? new Date(seconds * 1000).toLocaleString() : "–"; }
function showError(error) { page.prepend(h(`<p class="error">${esc(error.message || error)}</p>`)); }

// -- runs list -------------------------------------------------------------------------------------
const runsView = { sort: "updated", desc: true, filter: "" };

async function runsPage() {
  page.innerHTML = `<div class="toolbar"><input id="filter" placeholder="filter: name, env, agent, status" size="40">
    <span id="count" class="muted"></span><button id="compare">Compare selected</button></div>
    <div id="problems" class="error"></div>
    <table id="runs"><thead></thead><tbody></tbody></table>`;
  const filter = document.getElementById("filter");
  filter.value = runsView.filter;
  filter.oninput = () => { runsView.filter = filter.value; render(); };
  document.getElementById("compare").onclick = () => {
    const names = [...page.querySelectorAll("input.pick:checked")].map((c) => c.value);
    location.hash = "#/curves?runs=" + encodeURIComponent(names.join(","));
  };
  const cols = [["name", "run"], ["status", "status"], ["env", "env"], ["agent", "agent"], ["steps", "steps", 1],
    ["sps", "SPS", 1], ["reward", "last reward", 1], ["epochs", "epochs", 1], ["checkpoints", "ckpts", 1], ["updated", "updated"]];
  let runs = [];
  function render() {
    const words = runsView.filter.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = runs.filter((r) => words.every((w) => [r.name, r.env, r.agent, r.status].join(" ").toLowerCase().includes(w)));
    const k = runsView.sort, sign = runsView.desc ? -1 : 1;
    shown.sort((a, b) => (a[k] === b[k] ? 0 : (a[k] ?? -Infinity) < (b[k] ?? -Infinity) ? -sign : sign));
    page.querySelector("#runs thead").innerHTML = "<tr><th></th>" + cols.map(([key, label, num]) =>
      `<th data-key="${key}" class="${num ? "num" : ""}">${label}${key === k ? (runsView.desc ? " ▾" : " ▴") : ""}</th>`).join("") + "</tr>";
    page.querySelectorAll("#runs th[data-key]").forEach((th) => th.onclick = () => {
      runsView.desc = runsView.sort === th.dataset.key ? !runsView.desc : true; runsView.sort = th.dataset.key; render();
    });
    const checked = new Set([...page.querySelectorAll("input.pick:checked")].map((c) => c.value));
    page.querySelector("#runs tbody").innerHTML = shown.map((r) => `<tr data-run="${esc(r.name)}">
      <td><input type="checkbox" class="pick" value="${esc(r.name)}" ${checked.has(r.name) ? "checked" : ""}></td>
      <td><a href="#/run/${encodeURIComponent(r.name)}">${esc(r.name)}</a></td>
      <td><span class="status ${r.status}" title="${esc(r.status_why)}">${r.status}</span></td>
      <td>${esc(r.env)}</td><td>${esc(r.agent)}</td><td class="num">${fmt(r.steps)}</td><td class="num">${fmt(r.sps)}</td>
      <td class="num">${fmt(r.reward)}</td><td class="num">${r.epochs}</td><td class="num">${r.checkpoints}</td>
      <td>${when(r.updated)}</td></tr>`).join("");
    document.getElementById("count").textContent = `${shown.length} of ${runs.length} runs`;
  }
  async function load() {
    const answer = await api("/api/runs");
    runs = answer.runs;
    document.getElementById("problems").innerHTML = (answer.problems || []).map(esc).join("<br>");
    render(); ready();
  }
  await load();
  timer = setInterval(() => load().catch(() => {}), 5000);
}

// -- curves (one run or several overlaid) ---------------------------------------------------------
async function curvesPage(names, single) {
  if (!names.length) {
    const runs = (await api("/api/runs")).runs;
    names = runs.map((r) => r.name);
  }
  const allKeys = (await api("/api/keys?runs=" + encodeURIComponent(names.join(",")))).keys;
  const chosen = new Set(DEFAULT_KEYS.filter((k) => allKeys.includes(k)).concat(allKeys.filter((k) => k.startsWith("env_") && k.includes("heart.gained"))));
  page.innerHTML = `${single ? `<h2>${esc(names[0])} <span id="runstatus" class="status"></span></h2><div id="ckpts"></div>` : `<h2>${names.length} runs overlaid</h2>`}
    <div class="toolbar">
      <label>smoothing <input id="smooth" type="range" min="0" max="0.99" step="0.01" value="0"> <span id="smoothv">0</span></label>
      <label><input id="log" type="checkbox"> log y</label>
      <label>x <select id="xaxis"><option value="steps">agent steps</option><option value="time">wall time (min)</option></select></label>
      <span class="muted" id="polled"></span>
    </div>
    <details><summary>metrics (${allKeys.length})</summary><div class="keys">${allKeys.map((k) =>
      `<label><input type="checkbox" class="key" value="${esc(k)}" ${chosen.has(k) ? "checked" : ""}> ${esc(k)}</label><br>`).join("")}</div></details>
    <div class="grid" id="charts"></div>`;
  const data = {};  // run -> {n: rows read, steps, time, series}
  let stride = 0;
  const charts = {};
  const opts = () => ({ smoothing: +document.getElementById("smooth").value, log: document.getElementById("log").checked,
    xLabel: document.getElementById("xaxis").value === "time" ? "wall time (min)" : "agent steps" });
  const keys = () => [...page.querySelectorAll("input.key:checked")].map((c) => c.value);
  function redraw() {
    const grid = document.getElementById("charts");
    const wanted = keys();
    for (const k of Object.keys(charts)) if (!wanted.includes(k)) { charts[k].card.remove(); delete charts[k]; }
    const byTime = document.getElementById("xaxis").value === "time";
    for (const key of wanted) {
      if (!charts[key]) { const card = document.createElement("div"); card.dataset.key = key; grid.append(card); charts[key] = new LineChart(card, key); }
      const series = names.filter((n) => data[n] && data[n].series[key]).map((n, i) => {
        const d = data[n];
        const x = byTime ? d.time.map((t) => (t - d.time[0]) / 60) : d.steps;
        return { name: n, color: PALETTE[names.indexOf(n) % PALETTE.length], x, y: d.series[key] };
      });
      charts[key].set(series, opts());
    }
  }
  async function poll() {
    const ks = keys();
    const from = names.map((n) => (data[n] && sameKeys(data[n], ks) ? data[n].n : 0));
    // the server picks how thinly to sample many long runs on the first read; later reads keep that stride
    const answer = await api(`/api/curves?runs=${encodeURIComponent(names.join(","))}&keys=${encodeURIComponent(ks.join(","))}` +
      `&from=${from.join(",")}${stride ? "&stride=" + stride : ""}`);
    stride = answer.stride;
    const got = answer.runs;
    let changed = false;
    for (const [n, c] of Object.entries(got)) {
      if (!data[n] || c.start === 0) { data[n] = { n: c.n, steps: c.steps, time: c.time, series: c.series, keys: ks }; changed = true; continue; }
      if (!c.steps.length) continue;
      const d = data[n]; d.n = c.n; d.steps.push(...c.steps); d.time.push(...c.time);
      for (const k of Object.keys(c.series)) (d.series[k] = d.series[k] || []).push(...c.series[k]);
      changed = true;
    }
    if (changed) redraw();
    const status = document.getElementById("runstatus");
    if (status && got[names[0]]) {
      status.className = "status " + got[names[0]].status;
      status.textContent = got[names[0]].status;
      status.title = got[names[0]].status_why;
    }
    // rows held per run, for tests and for anyone wondering whether polling still brings rows
    page.dataset.rows = JSON.stringify(Object.fromEntries(names.map((n) => [n, data[n] ? data[n].steps.length : 0])));
    document.getElementById("polled").textContent = "updated " + new Date().toLocaleTimeString();
    ready();
  }
  function sameKeys(d, ks) { return ks.every((k) => d.keys.includes(k)); }
  document.getElementById("smooth").oninput = (e) => { document.getElementById("smoothv").textContent = e.target.value; redraw(); };
  document.getElementById("log").onchange = redraw;
  document.getElementById("xaxis").onchange = redraw;
  page.querySelectorAll("input.key").forEach((c) => c.onchange = () => poll());
  await poll();
  timer = setInterval(() => poll().catch(() => {}), 3000);
  if (single) await checkpointsPanel(names[0]);
}

// -- checkpoints of a run ---------------------------------------------------------------------------
async function checkpointsPanel(run) {
  const box = document.getElementById("ckpts");
  const suites = (await api("/api/launch/options")).groups.sim;
  let shown = "";
  async function render() {
    const c = await api("/api/checkpoints?run=" + encodeURIComponent(run));
    const text = JSON.stringify(c);
    if (text === shown) return;  // unchanged: keep the DOM (and the suite picked) as it is
    const suite = document.getElementById("suite")?.value || "smoke_test";
    shown = text;
    box.innerHTML = `<h3>Checkpoints</h3><div class="toolbar">suite <select id="suite">${suites.map((s) =>
      `<option ${s === suite ? "selected" : ""}>${s}</option>`).join("")}</select>
      episodes <input id="episodes" type="number" value="1" min="1" max="100" style="width:4em"></div>
      <table id="checkpoints"><tr><th>checkpoint</th><th class="num">epoch</th><th class="num">agent steps</th>
      <th class="num">training reward</th><th class="num">eval score (${esc(c.main_metric)})</th><th>evaluations</th><th></th></tr>
      ${c.checkpoints.map((k) => `<tr data-checkpoint="${esc(k.name)}"><td>${esc(k.name)}</td><td class="num">${k.epoch ?? "–"}</td>
        <td class="num">${fmt(k.agent_steps)}</td><td class="num">${fmt(k.score)}</td>
        <td class="num score">${k.evaluated ? fmt(k.evaluated.score) : "–"}</td>
        <td>${k.evaluated ? Object.entries(k.evaluated.evaluations).map(([e, v]) => `${esc(e)} ${fmt(v)}`).join(", ") : ""}
          ${k.jobs.map((j) => `<a href="#/jobs/${j.id}"><span class="status ${j.status}">${j.status}</span></a>`).join(" ")}</td>
        <td><button class="evaluate" data-path="${esc(k.path)}">Evaluate</button>
          ${k.replays.length ? `<button class="replay" data-path="${esc(k.replays[0])}">Open replay</button>` : ""}</td></tr>`).join("")}</table>
      ${c.replays.length ? `<p>Training replays: ${c.replays.map((p) => `<button class="replay" data-path="${esc(p)}">${esc(p.split("/").pop())}</button>`).join(" ")}</p>` : ""}`;
    box.querySelectorAll("button.evaluate").forEach((b) => b.onclick = async () => {
      b.disabled = true;
      try {
        await api("/api/evaluate", { run, checkpoint: b.dataset.path, suite: document.getElementById("suite").value,
          episodes: +document.getElementById("episodes").value });
        await render();
      } catch (e) { showError(e); }
    });
    box.querySelectorAll("button.replay").forEach((b) => b.onclick = async () => {
      try { const { url } = await api("/api/replay", { path: b.dataset.path }); window.open(url, "_blank"); } catch (e) { showError(e); }
    });
  }
  await render();
  const again = setInterval(() => { if (!document.body.contains(box)) clearInterval(again); else render().catch(() => {}); }, 4000);
}

// -- evaluation browser -----------------------------------------------------------------------------
async function evalsPage(query) {
  const { dbs } = await api("/api/dbs");
  const picked = query.getAll("db");
  page.innerHTML = `<h2>Evaluations</h2><div class="toolbar">stats DBs <select id="dbs" multiple size="${Math.min(5, Math.max(2, dbs.length))}">
    ${[...new Set([...dbs, ...picked])].map((d) => `<option ${picked.includes(d) ? "selected" : ""}>${esc(d)}</option>`).join("")}</select>
    <input id="dburi" placeholder="another DB: path or s3://..." size="36"><button id="show">Show</button></div><div id="card"></div>`;
  document.getElementById("show").onclick = () => {
    const chosen = [...document.getElementById("dbs").selectedOptions].map((o) => o.value);
    const extra = document.getElementById("dburi").value.trim();
    if (extra) chosen.push(extra);
    location.hash = "#/evals?" + chosen.map((d) => "db=" + encodeURIComponent(d)).join("&");
  };
  if (!dbs.length && !picked.length) { page.append(h(`<p class="muted">No stats DB yet: evaluate a checkpoint from a run's page.</p>`)); ready(); return; }
  const card = await api("/api/scorecard?" + (picked.length ? picked : dbs).map((d) => "db=" + encodeURIComponent(d)).join("&"));
  const m = card.metric, mean = card.scores[m].mean, ci = card.scores[m].ci95;
  const all = mean.flat().filter((v) => v !== null);
  const lo = Math.min(...all, 0), hi = Math.max(...all, lo + 1e-9);
  const color = (v) => { if (v === null) return "#f1f3f5"; const t = (v - lo) / (hi - lo); return `hsl(${10 + 110 * t},70%,${88 - 30 * t}%)`; };
  const evs = card.evaluations.map((e) => e.id);
  let html = `<p>metric <b>${esc(m)}</b>, 95% intervals; <span class="sig">*</span> = the interval of the difference to the best policy of that evaluation excludes 0.</p>
    <table class="heat" id="scorecard"><tr><th>policy</th><th class="num">overall</th>${card.categories.map((c) => `<th class="num">${esc(c)}</th>`).join("")}
    ${evs.map((e) => `<th>${esc(e)}</th>`).join("")}</tr>`;
  card.policies.forEach((p, i) => {
    html += `<tr data-policy="${esc(p.id)}"><td>${esc(p.id)}</td><td class="num">${fmt(p.score)}</td>` +
      card.categories.map((c) => `<td class="num">${fmt((card.category_scores[p.id] || {})[c])}</td>`).join("") +
      evs.map((e, j) => {
        const v = mean[i][j], c = ci[i][j], vs = card.vs_best[e];
        const best = vs && vs.best === p.id, d = vs && vs.vs_best[p.id];
        const mark = best ? " ★" : d && d.ci_excludes_zero ? ` <span class="sig" title="diff ${fmt(d.diff)} [${fmt(d.ci95?.[0])}, ${fmt(d.ci95?.[1])}]">*</span>` : "";
        return `<td class="cell" style="background:${color(v)}" data-value="${v ?? ""}">${fmt(v)}${mark}<small>${c ? `[${fmt(c[0])}, ${fmt(c[1])}]` : ""}</small></td>`;
      }).join("") + "</tr>";
  });
  document.getElementById("card").innerHTML = html + "</table>";
  ready();
}

// -- launch form --------------------------------------------------------------------------------------
async function launchPage() {
  const { groups, train_dir } = await api("/api/launch/options");
  page.innerHTML = `<h2>Launch a training run</h2><form class="launch" id="launch">
    <label>run name</label><input name="run" value="run-${Date.now().toString(36)}">
    ${Object.entries(groups).map(([g, names]) => `<label>${g}</label><select name="${g}"><option value="">(job default)</option>
      ${names.map((n) => `<option>${esc(n)}</option>`).join("")}</select>`).join("")}
    <label>overrides (one per line, e.g. trainer.total_timesteps=10000)</label><textarea name="overrides" rows="6"></textarea>
    <p class="muted">Runs go to ${esc(train_dir)}; checked with the schema of tools/validate_config.py.</p>
    <button type="button" id="check">Check</button> <button type="submit" id="start">Start</button>
    <p id="result"></p></form>`;
  const form = document.getElementById("launch");
  const values = () => Object.fromEntries(new FormData(form).entries());
  async function send(path) {
    const result = document.getElementById("result");
    try {
      const r = await api(path, values());
      result.className = r.ok ? "ok" : "error";
      result.innerHTML = r.ok ? (r.job ? `started: <a href="#/jobs/${r.job.id}">job ${r.job.id}</a>` : "valid: " + esc(r.overrides.join(" ")))
        : r.problems.map(esc).join("<br>");
      if (r.job) location.hash = "#/jobs/" + r.job.id;
    } catch (e) { result.className = "error"; result.textContent = e.message; }
  }
  document.getElementById("check").onclick = () => send("/api/launch/check");
  form.onsubmit = (e) => { e.preventDefault(); send("/api/launch"); };
  ready();
}

// -- jobs -----------------------------------------------------------------------------------------------
async function jobsPage(jobId) {
  async function render() {
    const { jobs } = await api("/api/jobs");
    let html = `<h2>Jobs</h2><table id="jobs"><tr><th>job</th><th>kind</th><th>status</th><th>what</th><th>submitted</th></tr>
      ${jobs.map((j) => `<tr data-job="${j.id}"><td><a href="#/jobs/${j.id}">${j.id}</a></td><td>${j.kind}</td>
      <td><span class="status ${j.status}">${j.status}</span></td><td>${esc(j.meta.run || "")} ${esc((j.meta.checkpoint || "").split("/").pop())}</td>
      <td>${when(j.submitted)}</td></tr>`).join("")}</table>`;
    if (jobId) {
      const { job, log } = await api(`/api/jobs/${jobId}/log`);
      html += job ? `<h3>${job.kind} ${job.id} <span class="status ${job.status}" id="jobstatus">${job.status}</span></h3>
        ${job.kind === "train" ? `<p><a href="#/run/${encodeURIComponent(job.meta.run)}">the run's curves</a></p>` : ""}
        <pre class="log" id="log">${esc(log)}</pre>` : `<p class="error">no job ${esc(jobId)}</p>`;
    }
    page.innerHTML = html;
    const pre = document.getElementById("log");
    if (pre) pre.scrollTop = pre.scrollHeight;
    ready();
  }
  await render();
  timer = setInterval(() => render().catch(() => {}), 2000);
}

// -- routing ----------------------------------------------------------------------------------------------
async function route() {
  clearInterval(timer);
  page.innerHTML = "";
  delete page.dataset.ready;
  const [path, qs] = (location.hash.slice(1) || "/runs").split("?");
  const query = new URLSearchParams(qs || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active",
    a.dataset.page === parts[0] || (a.dataset.page === "curves" && parts[0] === "run")));
  try {
    if (parts[0] === "run") await curvesPage([parts[1]], true);
    else if (parts[0] === "curves") await curvesPage((query.get("runs") || "").split(",").filter(Boolean), false);
    else if (parts[0] === "evals") await evalsPage(query);
    else if (parts[0] === "launch") await launchPage();
    else if (parts[0] === "jobs") await jobsPage(parts[1]);
    else await runsPage();
  } catch (e) { showError(e); page.dataset.ready = "error"; }
}
window.addEventListener("hashchange", route);
route();
