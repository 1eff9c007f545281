// Small DOM helpers: the page builds its DOM from text (Trusted Types forbid HTML strings).

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

function box(control) {
  return control.closest(".control") || control.parentElement;
}

// an API error is shown as its message next to the control that caused it
export function showError(control, message) {
  const b = box(control);
  const err = b.querySelector(".error");
  const ok = b.querySelector(".ok");
  if (ok) ok.textContent = "";
  if (err) err.textContent = message ? `Error: ${message}` : "";
  if (message) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

export function showOk(control, message) {
  const b = box(control);
  const ok = b.querySelector(".ok");
  showError(control, "");
  if (ok) ok.textContent = message;
}

// run an action for a control: busy while it runs, its error (or success) beside it
export async function act(control, fn, success) {
  control.setAttribute("aria-busy", "true");
  if ("disabled" in control && control.tagName === "BUTTON") control.disabled = true;
  try {
    const result = await fn();
    if (success) showOk(control, typeof success === "function" ? success(result) : success);
    else showError(control, "");
    return result;
  } catch (e) {
    showError(control, e.message || String(e));
    return undefined;
  } finally {
    control.removeAttribute("aria-busy");
    if (control.tagName === "BUTTON") control.disabled = false;
  }
}

export function fmtTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString();
}

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

export function kwh(wh) {
  return `${(wh / 1000).toFixed(3)} kWh`;
}
