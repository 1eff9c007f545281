// The local API as the page uses it: the access token lives in this module's memory only
// (never in storage, a URL or a log), every call carries it in the Authorization header.

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const session = { token: null, role: null, expiresAt: 0, clientId: null };
let onExpired = () => {};
let expiryTimer = null;

export const ROLE_RANK = { operator: 1, installer: 2, developer: 3 };

function randomId() {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return "web-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function claimsOf(token) {
  // the page only reads its own token's claims (role, expiry); the charger verifies it
  const part = token.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(json);
}

export function whenExpired(fn) {
  onExpired = fn;
}

export function signedIn() {
  return session.token !== null;
}

export function role() {
  return session.role;
}

export function expiresAt() {
  return session.expiresAt;
}

export function can(needed) {
  return (ROLE_RANK[session.role] || 0) >= ROLE_RANK[needed];
}

export function signOut(reason) {
  session.token = null;
  session.role = null;
  session.expiresAt = 0;
  clearTimeout(expiryTimer);
  onExpired(reason);
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else if (v !== undefined && v !== null) q.append(k, String(v));
  }
  q.append("clientId", session.clientId);
  return q.toString();
}

export function url(path, params) {
  return `${path}?${query(params)}`;
}

export function headers(extra) {
  return { Authorization: `Bearer ${session.token}`, ...(extra || {}) };
}

async function errorOf(resp) {
  let body = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  const message = body && (body.message || body.statusMessage);
  return new ApiError(resp.status, message || `${resp.status} ${resp.statusText}`, body && body.error);
}

function expired(err) {
  if (err.status === 401 && session.token !== null) signOut("Your access token is no longer valid (it expired). Pair again.");
}

export async function pair(qrToken) {
  session.clientId = session.clientId || randomId();
  const q = new URLSearchParams({ token: qrToken.trim(), clientId: session.clientId });
  const resp = await fetch(`/auth?${q}`, { cache: "no-store" });
  if (!resp.ok) throw await errorOf(resp);
  const body = await resp.json();
  const claims = claimsOf(body.accessToken);
  session.token = body.accessToken;
  session.role = claims.role;
  session.expiresAt = claims.exp * 1000;
  clearTimeout(expiryTimer);
  expiryTimer = setTimeout(
    () => signOut("Your access token expired. Pair again with the QR label."),
    Math.max(0, session.expiresAt - Date.now()),
  );
  return claims;
}

export async function call(method, path, { params, json, signal } = {}) {
  if (session.token === null) throw new ApiError(401, "not paired");
  const init = { method, headers: headers(), cache: "no-store", signal };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(url(path, params), init);
  if (!resp.ok) {
    const err = await errorOf(resp);
    expired(err);
    throw err;
  }
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  return type.startsWith("application/json") ? resp.json() : resp.text();
}

// multipart upload with progress (fetch has no upload progress): XMLHttpRequest
export function upload(path, field, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url(path));
    xhr.setRequestHeader("Authorization", `Bearer ${session.token}`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const err = new ApiError(xhr.status, (body && body.message) || `${xhr.status}`, body && body.error);
      expired(err);
      reject(err);
    };
    xhr.onerror = () => reject(new ApiError(0, "the upload failed (connection lost)"));
    const form = new FormData();
    form.append(field, file, file.name);
    xhr.send(form);
  });
}
