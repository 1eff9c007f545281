// The page: pairing, roles, tabs and the live view; the other panels are in panels.js.

import * as api from "./api.js";
import { drawChart } from "./chart.js";
import { initPanels, loadPanel } from "./panels.js";
import { scanQr } from "./qr.js";
import { openStream } from "./stream.js";
import { $, $$, act, clear, el, kwh, showError } from "./ui.js";

const live = { snapshot: null, history: {}, closeStream: null, device: null };

// -- pairing and sign-out -------------------------------------------------------------
function showPairing(reason) {
  if (live.closeStream) live.closeStream();
  live.closeStream = null;
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#pairing").hidden = false;
  const note = $("#pairing-reason");
  note.hidden = !reason;
  note.textContent = reason || "";
  $("#qr-token").value = "";
  $("#qr-token").focus();
}

async function paired() {
  $("#pairing").hidden = true;
  $("#app").hidden = false;
  $("#who").hidden = false;
  $("#who-role").textContent = `Signed in as ${api.role()}`;
  $("#who-expiry").textContent = new Date(api.expiresAt()).toLocaleTimeString();
  for (const node of $$("[data-role]")) {
    // controls the role may not use are absent, as the API's roles decide
    node.classList.toggle("absent", !api.can(node.dataset.role));
  }
  live.device = await api.call("GET", "/device-info").catch(() => null);
  if (live.device) $("#station-id").textContent = live.device.chargePointId || "";
  live.closeStream = openStream(onEvent, (s) => ($("#stream-state").textContent = s));
  route();
}

async function pairWith(token) {
  const btn = $("#pair");
  await act(btn, async () => {
    await api.pair(token);
    await paired();
  });
}

// -- tabs (the hash names the section) ----------------------------------------------
function route() {
  if (!api.signedIn()) return;
  let id = location.hash.slice(1) || "live";
  let tab = document.getElementById(id);
  if (!tab || !tab.classList.contains("tab") || tab.classList.contains("absent")) {
    id = "live";
    tab = document.getElementById(id);
  }
  for (const t of $$(".tab")) t.hidden = t !== tab;
  for (const a of $$("#tabs a")) {
    if (a.getAttribute("href") === `#${id}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  loadPanel(id, live);
}

// -- the live view ------------------------------------------------------------------
const STATUS_SYMBOL = {
  Available: "○", Preparing: "◔", Charging: "⚡", SuspendedEV: "⏸", SuspendedEVSE: "⏸",
  Finishing: "◕", Faulted: "⚠", Unavailable: "✕", Reserved: "◎",
};

function connectorCard(c) {
  const phases = c.currents.map((a, i) => `L${i + 1} ${a.toFixed(1)} A`).join(" · ");
  const limit = c.limit.amps === null ? "none" : `${c.limit.amps} A`;
  const sources = Object.entries(c.limit.sources)
    .sort((a, b) => (a[1] ?? 1e9) - (b[1] ?? 1e9))
    .map(([k, v]) => `${k} ${v} A`)
    .join(", ");
  const lock = c.locked === null ? "no lock (tethered cable)" : c.locked ? "locked" : "unlocked";
  const rows = [
    ["Status", `${STATUS_SYMBOL[c.status] || ""} ${c.status}${c.errorCode !== "NoError" ? ` (${c.errorCode})` : ""}`],
    ["Offered", `${c.offered.toFixed(1)} A`],
    ["Drawn", phases],
    ["Power", `${(c.powerW / 1000).toFixed(2)} kW`],
    ["Session energy", c.session ? kwh(c.session.energyWh) : "no session"],
    ["Card", c.session ? c.session.idTag : "–"],
    ["Lock", lock],
    ["Contactor", c.contactorClosed ? "closed" : "open"],
    ["Limit", `${limit} set by ${c.limit.source}`],
    ["All limits", sources || "–"],
    ["Faults", c.faults.length ? c.faults.join(", ") : "none"],
  ];
  const dl = el("dl");
  for (const [k, v] of rows) {
    const key = k.toLowerCase().replace(/ /g, "-");
    dl.append(el("dt", { text: k }), el("dd", { text: v, "data-field": key }));
  }
  return el(
    "article",
    { class: `connector status-${c.status}`, id: `connector-${c.connectorId}`, "aria-labelledby": `connector-${c.connectorId}-title` },
    el("h3", { id: `connector-${c.connectorId}-title`, text: `Connector ${c.connectorId}` }),
    dl,
  );
}

function renderConnectors() {
  const box = clear($("#connectors"));
  if (!live.snapshot) return;
  for (const c of live.snapshot.connectors) box.append(connectorCard(c));
  const csms = live.snapshot.csms;
  $("#csms-state").textContent = !csms.configured ? "offline mode (no CSMS configured)" : csms.connected ? "connected" : "not connected";
  for (const sel of $$(".connector-select")) {
    if (sel.options.length !== live.snapshot.connectors.length) {
      clear(sel);
      for (const c of live.snapshot.connectors) sel.append(el("option", { value: c.connectorId, text: `${c.connectorId}` }));
    }
  }
}

function renderChart() {
  const chosen = $("#chart-connector").value || (live.snapshot ? String(live.snapshot.connectors[0].connectorId) : "1");
  const h = live.history[chosen];
  drawChart($("#chart"), $("#chart-desc"), h);
  const list = clear($("#limit-marks"));
  for (const [t, amps, source] of h ? h.limits : []) {
    list.append(el("li", { text: `${new Date(t * 1000).toLocaleTimeString()}: limit ${amps === null ? "none" : amps + " A"}, source ${source}` }));
  }
}

let chartPending = false;
function scheduleChart() {
  // at most one redraw per animation frame, however fast samples come
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    renderChart();
  });
}

function onEvent(kind, data) {
  if (kind === "snapshot") {
    live.snapshot = data;
    live.history = data.history;
    renderConnectors();
    scheduleChart();
  } else if (kind === "connector" && live.snapshot && data.connector) {
    const c = data.connector;
    const i = live.snapshot.connectors.findIndex((x) => x.connectorId === c.connectorId);
    if (i >= 0) live.snapshot.connectors[i] = c;
    const h = (live.history[String(c.connectorId)] ||= { transactionId: null, points: [], limits: [] });
    if (c.session) {
      if (h.transactionId !== c.session.transactionId) {
        h.transactionId = c.session.transactionId;
        h.points = [];
        h.limits = [];
      }
      h.points.push([Date.now() / 1000, c.powerW, c.offered]);
      if (h.points.length > 2400) h.points = h.points.filter((_, j) => j % 2 === 0);
    }
    renderConnectors();
    scheduleChart();
  } else if (kind === "limit") {
    const h = live.history[String(data.connectorId)];
    if (h && h.transactionId !== null) h.limits.push([data.time, data.amps, data.source]);
    scheduleChart();
  } else if (kind === "expired") {
    api.signOut("Your access token expired. Pair again with the QR label.");
  }
}

// -- start ------------------------------------------------------------------------
function init() {
  api.whenExpired(showPairing);
  $("#pair-form").addEventListener("submit", (e) => {
    e.preventDefault();
    pairWith($("#qr-token").value);
  });
  $("#scan").addEventListener("click", async () => {
    const btn = $("#scan");
    const token = await act(btn, () => scanQr($("#camera")));
    if (token) {
      $("#qr-token").value = token;
      pairWith(token);
    }
  });
  $("#sign-out").addEventListener("click", () => api.signOut("Signed out."));
  $("#chart-connector").addEventListener("change", scheduleChart);
  window.addEventListener("hashchange", route);
  initPanels(live);
  showError($("#pair"), "");
  showPairing("");
}

init();
