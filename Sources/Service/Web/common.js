// What the studio and the live page share: the API key, calls to the native API, errors shown.

export const $ = (id) => document.getElementById(id);
/// The API key, kept in local storage between visits.
export const credentials = { key: localStorage.getItem("mouthpiece.key") || "" };

/// The stock portraits (public domain), served with the pages.
export const STOCK = [
  { id: "astronaut", name: "Astronaut (NASA, public domain)", url: "/studio/stock/astronaut.png" },
  { id: "mona_lisa", name: "Mona Lisa (public domain)", url: "/studio/stock/mona_lisa.jpg" },
];

// ---- errors and status ----

export function showError(message, code) {
  $("error-text").textContent = code ? `${message} (${code})` : message;
  $("error").hidden = false;
}

export function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}
$("error-close").addEventListener("click", clearError);

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", json, form, raw = false } = {}) {
  if (!credentials.key) throw new APIError(401, "unauthorized", "Enter your API key first.");
  const headers = { Authorization: `Bearer ${credentials.key}` };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const response = await fetch(path, { method, headers, body });
  if (!response.ok) {
    let code = "http_" + response.status, message = response.statusText;
    try {
      const answer = await response.json();
      code = answer.error?.code || code;
      message = answer.error?.message || message;
    } catch { /* not JSON */ }
    if (response.status === 401) message = "The API key is not valid: check it and enter it again.";
    throw new APIError(response.status, code, message);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export function report(error) {
  if (error instanceof APIError) showError(error.message, error.code);
  else showError(String(error.message || error));
}
