/*
 * What every page's script shares: JSON requests to our own API with the session cookie and
 * the CSRF token, and durations that read like the server-rendered ones.
 */
(function () {
  "use strict";

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  class HttpError extends Error {
    constructor(response, body) {
      const signedOut = response.status === 401 || response.status === 403;
      super(signedOut ? "you are signed out" : (body && body.detail) || `HTTP ${response.status}`);
      this.status = response.status;
      this.body = body;
    }
  }

  async function request(url, options = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", ...(options.headers || {}) },
    });
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (!response.ok) throw new HttpError(response, body);
    return body;
  }

  function getJson(url) {
    return request(url);
  }

  function postForm(url, formData, signal) {
    return request(url, { method: "POST", body: formData, signal, headers: { "X-CSRFToken": csrfToken() } });
  }

  /** 42s, 3m 07s, 2h 05m: as the pages' server-rendered durations. */
  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
    const s = Math.floor(seconds);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
  }

  /** A whole number the way every page writes it: 2,400 (the server's `count` filter). */
  function count(value) {
    return Number.isFinite(value) ? value.toLocaleString("en-US") : String(value);
  }

  /** A value kept in localStorage (chart settings survive a reload); storage may be off. */
  const stored = {
    get(key, fallback) {
      try {
        const raw = window.localStorage.getItem(`downhill.${key}`);
        return raw === null ? fallback : JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(`downhill.${key}`, JSON.stringify(value));
      } catch {
        /* private mode: the setting lasts for this page only */
      }
    },
  };

  /** Forms with data-confirm ask before they submit (delete a dataset). */
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  const SVG_NS = "http://www.w3.org/2000/svg";

  /** An SVG element with its attributes, appended to `parent` when given. */
  function svgElement(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  /** An SVG text at (x, y), centred unless `anchor` says otherwise. */
  function svgText(parent, x, y, content, cls, anchor) {
    const node = svgElement("text", { x, y, class: cls, "text-anchor": anchor || "middle" }, parent);
    node.textContent = content;
    return node;
  }

  window.Downhill = { getJson, postForm, csrfToken, formatDuration, count, stored, HttpError, svgElement, svgText };
})();
