// The panels besides the live view: control, cards, transactions, schedule, energy,
// installation, updates, diagnostics and the simulator. Each loads its data when shown.

import * as api from "./api.js";
import { $, $$, act, clear, el, fmtDuration, fmtTime, kwh, showError, showOk } from "./ui.js";

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
let openapiDoc = null;
let liveRef = null;

function onSubmit(form, fn) {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    fn(e.submitter || form.querySelector("button[type=submit]"));
  });
}

function onClick(sel, fn) {
  $(sel).addEventListener("click", () => fn($(sel)));
}

// the allowed range of a query parameter, as the API's own document states it
async function paramRange(path, name) {
  openapiDoc ||= await fetch("/openapi.json").then((r) => r.json());
  const op = openapiDoc.paths[path].post;
  const p = op.parameters.find((x) => x.name === name);
  return p ? p.schema : {};
}

async function showRange(input, label, path, name, cap) {
  const s = await paramRange(path, name);
  const max = cap !== undefined ? Math.min(cap, s.maximum) : s.maximum;
  input.min = s.minimum;
  input.max = max;
  label.textContent = `(allowed ${s.minimum} to ${max})`;
}

function twoStep(first, confirm, fn, done) {
  first.addEventListener("click", () => {
    confirm.hidden = false;
    confirm.focus();
  });
  confirm.addEventListener("click", async () => {
    confirm.hidden = true;
    await act(first, fn, done);
  });
}

// -- control --------------------------------------------------------------------------
function initControl() {
  onSubmit($("#start-form"), (b) =>
    act(b, () => api.call("POST", "/charging/start", { params: { tag: $("#start-tag").value, connectorId: $("#start-connector").value } }), "Start requested: the session starts when the EV is plugged in."),
  );
  onSubmit($("#stop-form"), (b) => act(b, () => api.call("POST", "/charging/stop", { params: { tag: $("#stop-tag").value } }), "Stopped."));
  onSubmit($("#unlock-form"), (b) => act(b, () => api.call("POST", "/charging/unlock", { params: { connectorId: $("#unlock-connector").value } }), "Unlocked."));
  onSubmit($("#auth-mode-form"), (b) =>
    act(b, () => api.call("POST", "/authentication-mode", { params: { authenticationMode: $("#auth-mode").value } }), (v) => `Saved: ${v}`),
  );
  onSubmit($("#lock-mode-form"), (b) =>
    act(b, () => api.call("POST", "/config/socket-permanent-lock-mode", { params: { socketLockMode: $("#lock-mode").value } }), (v) => `Saved: ${v}`),
  );
  onSubmit($("#station-max-form"), (b) =>
    act($("#station-max"), async () => {
      const v = await api.call("POST", "/config/charge-station-max-current", { params: { chargeStationMaxCurrent: $("#station-max").value } });
      $("#station-max").value = v;
      return v;
    }, (v) => `Saved: ${v} A`),
  );
  twoStep($("#reboot"), $("#reboot-confirm"), () => api.call("POST", "/config/reboot"), "Rebooting: the page reconnects when the charger is back.");
  twoStep($("#shunt"), $("#shunt-confirm"), () => api.call("POST", "/tests/shunt/activate"), (ok) => (ok ? "The shunt trip fired and was confirmed." : "The shunt trip fired but was NOT confirmed."));
}

async function loadControl() {
  const mode = await api.call("GET", "/authentication-mode").catch((e) => showError($("#auth-mode"), e.message));
  if (mode) $("#auth-mode").value = mode;
  if (!api.can("installer")) return;
  const [lock, max] = await Promise.all([
    api.call("GET", "/config/socket-permanent-lock-mode"),
    api.call("GET", "/config/charge-station-max-current"),
  ]).catch((e) => (showError($("#station-max"), e.message), [null, null]));
  if (lock) $("#lock-mode").value = lock;
  if (max !== null) $("#station-max").value = max;
  const cap = liveRef.device ? liveRef.device.absoluteMaxCurrent : undefined;
  await showRange($("#station-max"), $("#station-max-range"), "/config/charge-station-max-current", "chargeStationMaxCurrent", cap);
}

// -- cards ----------------------------------------------------------------------------
function initCards() {
  onSubmit($("#card-add-form"), (b) =>
    act($("#card-token"), async () => {
      const c = await api.call("PUT", `/whitelist/cards/${encodeURIComponent($("#card-token").value)}`, { json: { status: "ACCEPTED" } });
      await loadCards();
      return c;
    }, (c) => `Card ${c.token} added.`),
  );
  onClick("#learn", async (b) => {
    const seconds = liveRef.device ? liveRef.device.cardLearnTimeout : 30;
    const out = $("#learn-countdown");
    const until = Date.now() + seconds * 1000;
    const tick = () => (out.textContent = `Hold a card at the reader: ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s left`);
    tick();
    const timer = setInterval(tick, 250);
    try {
      await act(b, async () => {
        const r = await api.call("GET", "/whitelist/card");
        await loadCards();
        return r;
      }, (r) => r.statusMessage);
    } finally {
      clearInterval(timer);
      out.textContent = "";
    }
  });
}

async function setCard(button, token, status) {
  await act(button, () => api.call("PUT", `/whitelist/cards/${encodeURIComponent(token)}`, { json: { status } }));
  await loadCards();
}

async function loadCards() {
  const table = $("#card-table");
  const cards = await act(table, () => api.call("GET", "/whitelist/cards"));
  if (!cards) return;
  const body = clear(table.tBodies[0]);
  for (const c of cards) {
    const block = el("button", { type: "button", text: c.status === "BLOCKED" ? "Accept" : "Block" });
    block.addEventListener("click", () => setCard(block, c.token, c.status === "BLOCKED" ? "ACCEPTED" : "BLOCKED"));
    const remove = el("button", { type: "button", text: "Remove" });
    remove.addEventListener("click", async () => {
      await act(remove, () => api.call("DELETE", `/whitelist/cards/${encodeURIComponent(c.token)}`));
      await loadCards();
    });
    body.append(
      el("tr", { "data-card": c.token },
        el("td", { text: c.token }), el("td", { text: c.status }),
        el("td", { text: c.expirationDate ? fmtTime(c.expirationDate) : "never" }),
        el("td", {}, block, " ", remove)),
    );
  }
  if (!cards.length) body.append(el("tr", {}, el("td", { colspan: 4, text: "No cards yet." })));
}

// -- transactions -----------------------------------------------------------------------
let transactions = [];

function txRow(t) {
  const end = t.stopDate || Date.now() / 1000;
  return [t.id, t.connectorId, t.token, fmtTime(t.startDate), fmtDuration(end - t.startDate) + (t.stopDate ? "" : " (running)"), kwh(t.consumedWattHours), t.stopReason || ""];
}

async function loadTransactions() {
  const rows = await act($("#tx-refresh"), () => api.call("GET", "/transactions", { params: { limit: 200 } }));
  if (!rows) return;
  transactions = rows;
  const body = clear($("#tx-table").tBodies[0]);
  for (const t of rows) body.append(el("tr", {}, ...txRow(t).map((v) => el("td", { text: String(v) }))));
}

function csv() {
  const head = ["id", "connectorId", "token", "startDate", "stopDate", "durationSeconds", "consumedWattHours", "stopReason"];
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const lines = transactions.map((t) =>
    [t.id, t.connectorId, t.token, new Date(t.startDate * 1000).toISOString(), t.stopDate ? new Date(t.stopDate * 1000).toISOString() : "",
     Math.round((t.stopDate || Date.now() / 1000) - t.startDate), t.consumedWattHours, t.stopReason || ""].map(quote).join(","));
  return [head.join(","), ...lines].join("\r\n") + "\r\n";
}

function initTransactions() {
  onClick("#tx-refresh", loadTransactions);
  onClick("#tx-csv", async () => {
    await loadTransactions();
    const blob = new Blob([csv()], { type: "text/csv" });
    const a = el("a", { href: URL.createObjectURL(blob), download: "transactions.csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
}

// -- schedule (a week view) ------------------------------------------------------------
function scheduleRow(section, recurring) {
  const day = Math.floor(section.time / 86400);
  const secs = section.time % 86400;
  const hhmm = `${String(Math.floor(secs / 3600)).padStart(2, "0")}:${String(Math.floor((secs % 3600) / 60)).padStart(2, "0")}`;
  const n = $$("#schedule-rows li").length + 1;
  const daySel = el("select", { "aria-label": `Period ${n}: day`, class: "s-day" }, ...DAYS.map((d, i) => el("option", { value: i, text: d })));
  daySel.value = String(day);
  daySel.hidden = recurring !== "weekly";
  const time = el("input", { type: "time", value: hhmm, required: true, "aria-label": `Period ${n}: start time`, class: "s-time" });
  const limit = el("input", { type: "number", min: 0, max: 80, step: 0.1, value: section.limit, required: true, "aria-label": `Period ${n}: limit in amps`, class: "s-limit" });
  const remove = el("button", { type: "button", text: "Remove", "aria-label": `Remove period ${n}` });
  const li = el("li", {}, daySel, " ", time, " ", limit, " A ", remove);
  remove.addEventListener("click", () => {
    li.remove();
    renderWeek(readSchedule());
  });
  for (const i of [daySel, time, limit]) i.addEventListener("change", () => renderWeek(readSchedule()));
  return li;
}

function readSchedule() {
  const recurring = $("#schedule-recurring").value;
  const sections = $$("#schedule-rows li").map((li) => {
    const [h, m] = ($(".s-time", li).value || "00:00").split(":").map(Number);
    const day = recurring === "weekly" ? Number($(".s-day", li).value) : 0;
    return { time: day * 86400 + h * 3600 + m * 60, limit: Number($(".s-limit", li).value) };
  });
  sections.sort((a, b) => a.time - b.time);
  return { recurring, sections };
}

function limitAt(schedule, t) {
  const s = schedule.sections;
  if (!s.length) return null;
  let cur = schedule.recurring === "none" ? null : s[s.length - 1].limit; // wraps around
  for (const x of s) if (x.time <= t) cur = x.limit;
  return cur;
}

function renderWeek(schedule) {
  const table = clear($("#week"));
  table.append(el("caption", { text: "The week: the limit in amps at the start of each hour (– : no limit)" }));
  const head = el("tr", {}, el("th", { scope: "col", text: "Day" }));
  for (let h = 0; h < 24; h++) head.append(el("th", { scope: "col", text: String(h).padStart(2, "0") }));
  table.append(el("thead", {}, head));
  const body = el("tbody");
  for (let d = 0; d < 7; d++) {
    const tr = el("tr", {}, el("th", { scope: "row", text: DAYS[d].slice(0, 3) }));
    for (let h = 0; h < 24; h++) {
      const t = (schedule.recurring === "weekly" ? d * 86400 : 0) + h * 3600;
      const v = limitAt(schedule, t);
      tr.append(el("td", { text: v === null ? "–" : String(v), class: v === null ? "none" : v < 6 ? "paused" : "" }));
    }
    body.append(tr);
  }
  table.append(body);
}

function initSchedule() {
  onClick("#schedule-add", () => {
    $("#schedule-rows").append(scheduleRow({ time: 0, limit: 16 }, $("#schedule-recurring").value));
    renderWeek(readSchedule());
  });
  $("#schedule-recurring").addEventListener("change", () => {
    for (const s of $$("#schedule-rows .s-day")) s.hidden = $("#schedule-recurring").value !== "weekly";
    renderWeek(readSchedule());
  });
  onSubmit($("#schedule-form"), (b) =>
    act(b, async () => {
      const saved = await api.call("POST", "/schedules/chargepoint", { json: readSchedule() });
      fillSchedule(saved);
      return saved;
    }, (s) => `Saved: ${s.sections.length} period(s), ${s.recurring}.`),
  );
}

function fillSchedule(s) {
  $("#schedule-recurring").value = s.recurring;
  const rows = clear($("#schedule-rows"));
  for (const x of s.sections) rows.append(scheduleRow(x, s.recurring));
  renderWeek(s);
}

async function loadSchedule() {
  const s = await act($("#schedule-save"), () => api.call("GET", "/schedules/chargepoint"));
  if (s) fillSchedule(s);
}

// -- energy -----------------------------------------------------------------------------
function initEnergy() {
  onSubmit($("#load-shedding-form"), (b) => act(b, () => api.call("POST", "/config/load-shedding", { params: { loadShedding: $("#load-shedding").value } }), (v) => `Saved: ${v}`));
  onSubmit($("#grid-max-form"), () =>
    act($("#grid-max"), async () => {
      const v = await api.call("POST", "/config/grid-max-current", { params: { maxCurrent: $("#grid-max").value } });
      $("#grid-max").value = v;
      return v;
    }, (v) => `Saved: ${v} A`),
  );
  onSubmit($("#tariff-form"), (b) => act(b, () => api.call("POST", "/config/on-off-peak", { params: { onOffPeak: $("#tariff").value } }), (v) => `Saved: ${v}`));
}

async function loadEnergy() {
  const [ls, grid, tariff] = await Promise.all([
    api.call("GET", "/config/load-shedding"), api.call("GET", "/config/grid-max-current"), api.call("GET", "/config/on-off-peak"),
  ]).catch((e) => (showError($("#grid-max"), e.message), [null, null, null]));
  if (ls) $("#load-shedding").value = ls;
  if (grid !== null) $("#grid-max").value = grid;
  if (tariff) $("#tariff").value = tariff;
  await showRange($("#grid-max"), $("#grid-max-range"), "/config/grid-max-current", "maxCurrent");
}

// -- installation -------------------------------------------------------------------------
function dlFill(dl, rows) {
  clear(dl);
  for (const [k, v] of rows) dl.append(el("dt", { text: k }), el("dd", { text: v }));
}

async function loadInstallation() {
  const s = await act($("#inst-refresh"), () => api.call("GET", "/installer-status"));
  if (!s) return;
  const amps = (xs) => xs.map((a, i) => `L${i + 1} ${Number(a).toFixed(1)} A`).join(" · ");
  dlFill($("#inst-status"), [
    ["Grid currents", amps(s.gridCurrents.currents || [])],
    ["Installation usage (without the charger)", amps(s.installationUsage.currents || [])],
    ["Grid fuse", `${s.gridMaxCurrent} A`],
    ["Station max current", `${s.chargeStationMaxCurrent} A`],
    ["Load shedding", s.loadSheddingModule],
    ["Tariff mode", s.onOffPeak],
    ["Socket lock mode", s.socketLockMode],
    ...(s.hotspot ? [["Hotspot", `${s.hotspot.ssid || ""} ${s.hotspot.up ? "(up)" : "(down)"}`]] : []),
  ]);
}

function initInstallation() {
  onClick("#inst-refresh", loadInstallation);
  onClick("#hwcheck", async (b) => {
    $("#hwcheck-summary").textContent = "Running…";
    const r = await act(b, () => api.call("POST", "/diagnostics/hw-check"));
    if (!r) return ($("#hwcheck-summary").textContent = "");
    const failed = r.steps.filter((s) => s.result === "FAIL").length;
    $("#hwcheck-summary").textContent = r.passed ? `All checks passed (${r.steps.length} steps).` : `${failed} check(s) FAILED: see the fixes below.`;
    const body = clear($("#hwcheck-table").tBodies[0]);
    for (const s of r.steps) {
      body.append(el("tr", { class: `result-${s.result}` }, el("td", { text: s.name }), el("td", { text: s.result }), el("td", { text: s.detail }), el("td", { text: s.fix })));
    }
    $("#hwcheck-table").hidden = false;
  });
}

// -- updates -------------------------------------------------------------------------------
const INSTALL_STEPS = { IDLE: 0, INSTALLING: 1, RESTARTING: 2, FAILED: 0 };

async function loadUpgradeState(control = $("#upgrade-refresh")) {
  const s = await act(control, () => api.call("GET", "/upgrade/state"));
  if (!s) return null;
  dlFill($("#upgrade-state"), [
    ["Running version", s.currentVersion],
    ["Update", s.state + (s.error ? `: ${s.error}` : "")],
    ["On trial", s.trial ? `${s.trial.version} (rolls back to ${s.trial.previous || "the factory release"} unless it reports healthy)` : "no"],
    ["Last rollback", s.lastRollback ? `${s.lastRollback.failed} rolled back to ${s.lastRollback.restored}: ${s.lastRollback.reason}` : "none"],
  ]);
  return s;
}

async function followInstall(version) {
  // one request a second while it installs, then until the charger is back on the new version
  const step = $("#install-step");
  const bar = $("#install-progress");
  for (let i = 0; i < 180; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    let s = null;
    try {
      s = await api.call("GET", "/upgrade/state");
    } catch (e) {
      if (!api.signedIn()) return;
      bar.value = 2;
      step.textContent = "restarting (the charger is not answering yet)";
      continue;
    }
    if (s.state === "FAILED") {
      bar.value = 0;
      step.textContent = "failed";
      showError($("#upload"), s.error || "the install failed; the running release keeps running");
      return;
    }
    if (s.state === "IDLE" && s.currentVersion === version) {
      bar.value = 3;
      step.textContent = `done: running ${version}`;
      await loadUpgradeState();
      return;
    }
    bar.value = Math.max(bar.value, INSTALL_STEPS[s.state] || 0);
    step.textContent = s.state.toLowerCase();
  }
}

function initUpdates() {
  onClick("#upgrade-refresh", () => loadUpgradeState());
  onSubmit($("#upload-form"), async (b) => {
    const file = $("#bundle").files[0];
    if (!file) return showError(b, "choose a bundle file first");
    const bar = $("#upload-progress");
    $("#install-progress").value = 0;
    $("#install-step").textContent = "waiting for the upload";
    const r = await act(b, () =>
      api.upload("/upgrade", "data", file, (f) => {
        bar.value = Math.round(f * 100);
        $("#upload-pct").textContent = `${bar.value} %`;
      }),
    (u) => `Uploaded and verified: version ${u.version} (${u.size} bytes, sha256 ${u.sha256.slice(0, 12)}…). Installing.`);
    if (!r) {
      $("#install-step").textContent = "nothing installed";
      return;
    }
    bar.value = 100;
    $("#upload-pct").textContent = "100 %";
    $("#install-progress").value = 1;
    $("#install-step").textContent = "installing";
    followInstall(r.version);
  });
}

// -- diagnostics ---------------------------------------------------------------------------
async function loadJournal(control = $("#journal-form button")) {
  const params = { limit: $("#journal-limit").value || 50 };
  if ($("#journal-kind").value) params.kind = $("#journal-kind").value;
  const rows = await act(control, () => api.call("GET", "/diagnostics/journal", { params }));
  if (!rows) return;
  const list = clear($("#journal"));
  for (const r of rows) {
    const data = Object.entries(r.data).filter(([k]) => k !== "connector_id").map(([k, v]) => `${k}=${v}`).join(" ");
    list.append(el("li", { text: `${fmtTime(r.time)} ${r.kind}${r.connectorId ? ` #${r.connectorId}` : ""} ${data}` }));
  }
  if (!rows.length) list.append(el("li", { text: "nothing matches" }));
}

async function loadLogs(control = $("#logs-form button")) {
  const params = { limit: 200, level: $("#logs-level").value };
  if ($("#logs-contains").value) params.contains = $("#logs-contains").value;
  const rows = await act(control, () => api.call("GET", "/diagnostics/logs", { params }));
  if (!rows) return;
  const list = clear($("#logs"));
  for (const r of rows) {
    const kv = Object.entries(r.fields).map(([k, v]) => `${k}=${v}`).join(" ");
    list.append(el("li", { class: `level-${r.level}`, text: `${r.time} ${r.level} ${r.logger}: ${r.event} ${kv}` }));
  }
  if (!rows.length) list.append(el("li", { text: "nothing matches" }));
}

async function loadTrace(control = $("#trace-refresh")) {
  const t = await act(control, () => api.call("GET", "/diagnostics/ocpp-trace"));
  if (!t) return;
  $("#trace-switch").checked = t.enabled;
  const list = clear($("#trace"));
  for (const f of t.frames) list.append(el("li", { text: `${f.time} ${f.direction === "in" ? "← in " : "→ out"} ${f.frame}` }));
  if (!t.frames.length) list.append(el("li", { text: t.enabled ? "no frames yet" : "the trace is off" }));
}

function initDiagnostics() {
  onSubmit($("#journal-form"), (b) => loadJournal(b));
  onSubmit($("#logs-form"), (b) => loadLogs(b));
  onClick("#trace-refresh", (b) => loadTrace(b));
  $("#trace-switch").addEventListener("change", async () => {
    const sw = $("#trace-switch");
    const r = await act(sw, () => api.call("PUT", "/diagnostics/ocpp-trace", { json: { enabled: sw.checked } }));
    if (!r) sw.checked = !sw.checked; // refused: the switch shows what is in force
    else await loadTrace();
  });
}

// -- the simulator (developer mode) -----------------------------------------------------
function sim(control, action, body, message) {
  return act(control, () => api.call("POST", `/development/simulator/${action}`, { json: body }), message);
}

function initDeveloper() {
  const cid = () => Number($("#sim-connector").value || 1);
  onSubmit($("#sim-plug-form"), (b) => sim(b, "plug", { connectorId: cid(), soc: Number($("#sim-soc").value) / 100 }, "EV plugged in."));
  onClick("#sim-unplug", (b) => sim(b, "unplug", { connectorId: cid() }, "EV unplugged."));
  onClick("#sim-pause", (b) => sim(b, "ev", { connectorId: cid(), state: "B" }, "The EV pauses (state B)."));
  onClick("#sim-charge", (b) => sim(b, "ev", { connectorId: cid(), state: "C" }, "The EV asks for energy (state C)."));
  onSubmit($("#sim-card-form"), (b) => sim(b, "rfid", { uid: $("#sim-uid").value }, `Card ${$("#sim-uid").value} tapped.`));
  onSubmit($("#sim-fault-form"), (b) => sim(b, "fault", { kind: $("#sim-fault").value, active: true, connector: cid() }, "Fault injected."));
  onClick("#sim-fault-off", (b) => sim(b, "fault", { kind: $("#sim-fault").value, active: false, connector: cid() }, "Fault cleared."));
  onClick("#sim-breaker", (b) => sim(b, "breaker", { closed: true }, "Breaker closed."));
  onSubmit($("#sim-grid-form"), (b) =>
    sim(b, "grid", { currents: ["#sim-l1", "#sim-l2", "#sim-l3"].map((s) => Number($(s).value)) }, "Household load set."),
  );
  $("#sim-tariff").addEventListener("change", () => sim($("#sim-tariff"), "input", { name: "tariff", value: $("#sim-tariff").checked }, "Tariff input set."));
}

// -- wiring ------------------------------------------------------------------------------
const LOADERS = {
  control: loadControl,
  cards: loadCards,
  transactions: loadTransactions,
  schedule: loadSchedule,
  energy: loadEnergy,
  installation: loadInstallation,
  updates: () => loadUpgradeState(),
  diagnostics: () => Promise.all([loadJournal(), loadLogs(), loadTrace()]),
};

export function initPanels(live) {
  liveRef = live;
  initControl();
  initCards();
  initTransactions();
  initSchedule();
  initEnergy();
  initInstallation();
  initUpdates();
  initDiagnostics();
  initDeveloper();
}

export function loadPanel(id) {
  const load = LOADERS[id];
  if (load) load().catch((e) => console.warn(id, e.message));
}

export { showOk };
