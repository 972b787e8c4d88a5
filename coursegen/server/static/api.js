// Talk to the jobs API: JSON requests, the tab's API key, uploads and authenticated downloads.
import { $, el } from "./dom.js";

const KEY_STORAGE = "coursegen.apiKey";

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

// Keep (or, with an empty key, forget) the key for this tab.
export function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage switched off: the key cannot be kept
  }
}

export function authHeaders(headers = {}) {
  const key = apiKey();
  return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
}

export function needKey() {
  const panel = $("key-panel");
  panel.open = true;
  $("key-state").textContent = apiKey()
    ? "The server refused this key: enter a valid one."
    : "This server needs an API key.";
  $("key-state").classList.add("error");
}

export async function api(method, url, body, headers = {}) {
  try {
    const response = await fetch(url, {
      method,
      headers: authHeaders(body ? { "Content-Type": "application/json", ...headers } : headers),
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.ok) return { ok: true, status: response.status, data };
    if (response.status === 401) needKey();
    return { ok: false, status: response.status, message: errorMessage(response, data) };
  } catch (exc) {
    return { ok: false, status: 0, message: `The server cannot be reached (${exc.message}).` };
  }
}

export function errorMessage(response, data) {
  const detail = data?.detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`)
      .join("; ");
  }
  if (typeof detail === "string") return detail;
  return `${response.status} ${response.statusText}`;
}

export const jobUrl = (job, tail = "") => `/courses/${encodeURIComponent(job)}${tail}`;

// Upload each file (multipart, field `file`) to POST /sources; the ids go in the request.
export async function uploadSources(files) {
  const ids = [];
  for (const file of files) {
    const data = new FormData();
    data.append("file", file);
    try {
      const response = await fetch("/sources", {
        method: "POST",
        headers: authHeaders(),
        body: data,
      });
      const answer = await response.json().catch(() => null);
      if (response.status === 401) needKey();
      if (!response.ok) {
        return { ok: false, message: `${file.name}: ${errorMessage(response, answer)}` };
      }
      ids.push(answer.id);
    } catch (exc) {
      return { ok: false, message: `The server cannot be reached (${exc.message}).` };
    }
  }
  return { ok: true, ids };
}

// With a key, a plain link cannot authenticate: download through fetch instead.
export async function download(event) {
  if (!apiKey()) return; // the link works as it is
  event.preventDefault();
  const link = event.currentTarget;
  const response = await fetch(link.href, { headers: authHeaders() });
  if (response.status === 401) {
    needKey();
    return;
  }
  if (!response.ok) {
    $("job-error").textContent = `Download failed: ${response.status}`;
    $("job-error").hidden = false;
    return;
  }
  const name = downloadName(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await response.blob());
  const save = el("a", { href: url, download: name });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// RFC 6266: the UTF-8 `filename*` (the course name as written), else the ASCII `filename`.
function downloadName(disposition) {
  const encoded = disposition.match(/filename\*=UTF-8''([^;\s]+)/i)?.[1];
  if (encoded) {
    try {
      return decodeURIComponent(encoded);
    } catch {
      // malformed: use the plain name
    }
  }
  return disposition.match(/filename="([^"]+)"/)?.[1] || "course";
}
