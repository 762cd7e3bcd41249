// Shared by every page: API calls with the user's credential, problem documents, formatting,
// DOM and table builders, status badges, plots and the data-ready signal.

import { credential, credentialHeaders, focusCredentials, revealCredentials, setupCredentials } from "./credentials.js";

const ROOT = document.body.dataset.root || "";
const JSON_TYPES = "application/json, application/problem+json";

export const FINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** A path of this server (under its root path). */
export function href(path) {
  return ROOT + path;
}

// --- API ---------------------------------------------------------------------------------------

/** A non-2xx answer; `problem` is its RFC 9457 document when it sent one, `challenge` a 401's
 * WWW-Authenticate. */
export class ApiError extends Error {
  constructor(status, problem, path, challenge = null) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status} from ${path}`);
    this.status = status;
    this.problem = problem;
    this.path = path;
    this.challenge = challenge;
  }
}

export function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined && item !== null && item !== "") params.append(name, String(item));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** fetch() a path of this server with the credential; throws ApiError on a non-2xx answer. */
export async function request(path, { method = "GET", query, body, accept = JSON_TYPES, headers = {} } = {}) {
  const init = { method, headers: { Accept: accept, ...credentialHeaders(), ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(href(path) + queryString(query), init);
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new ApiError(response.status, problem, path, response.headers.get("WWW-Authenticate"));
  }
  return response;
}

/** The JSON answer of an operation. */
export async function api(path, options) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

/** Every item of a cursor-paginated list (at most `maxPages` pages). */
export async function allItems(path, query = {}, maxPages = 10) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const answer = await api(path, { query: { ...query, cursor } });
    items.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items;
}

let openapiDocument = null;
/** The server's OpenAPI document (fetched once per page). */
export const openapi = () => (openapiDocument = openapiDocument || api("/openapi.json"));

/** Save a binary answer through a blob (the credential stays in a header). */
export async function download(path, { query, filename, accept = "application/octet-stream" }) {
  const blob = await (await request(path, { query, accept })).blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}

// --- DOM -----------------------------------------------------------------------------------------

/** An element: `attrs` are attributes (`class`, `text`, `dataset`, `on<event>` handled). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** A link to a dashboard page (`path` under /dashboard). */
export function pageLink(path, text) {
  return el("a", { href: href(`/dashboard${path}`), text });
}

export function runLink(id) {
  return id ? pageLink(`/runs/${encodeURIComponent(id)}`, id) : "—";
}

export function statusBadge(status) {
  return el("span", { class: `badge badge-${String(status).toLowerCase()}`, text: status });
}

export function progressBar(progress, label) {
  const fraction = progress ? progress.fraction : 0;
  const bar = el("progress", { max: "1", value: String(fraction), "aria-label": label });
  return el("span", { class: "progress" }, bar, ` ${Math.round(fraction * 100)}%`);
}

/** "First page" / "Next page" links of a cursor-paginated page at `/dashboard<path>`. */
export function renderPager(container, path, query, nextCursor) {
  const at = (cursor) => href(`/dashboard${path}`) + queryString({ ...query, cursor });
  container.replaceChildren(
    query.cursor ? el("a", { href: at(null), text: "First page" }) : "",
    nextCursor ? el("a", { href: at(nextCursor), text: "Next page", rel: "next" }) : "",
  );
}

/** The page's query-string values of `names` (absent and empty ones left out). */
export function pageQuery(names) {
  const params = new URLSearchParams(location.search);
  return Object.fromEntries(names.filter((n) => params.get(n)).map((n) => [n, params.get(n)]));
}

/** A table in a horizontally scrolling, focusable region; columns: {label, cell(row), num, wrap, rowHeader}. */
export function table({ caption, columns, rows, empty = "Nothing to show." }) {
  if (!rows.length) return el("p", { class: "empty", text: empty });
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null, text: c.label })));
  const body = rows.map((row) =>
    el(
      "tr",
      {},
      columns.map((c, i) => {
        const value = c.cell(row);
        const node = value instanceof Node ? value : document.createTextNode(value ?? "—");
        const header = i === 0 && c.rowHeader;
        const cls = [c.num && "num", c.wrap && "wrap"].filter(Boolean).join(" ") || null;
        return el(header ? "th" : "td", { scope: header ? "row" : null, class: cls }, node);
      }),
    ),
  );
  return el(
    "div",
    { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
    el("table", {}, el("caption", { text: caption }), el("thead", {}, head), el("tbody", {}, body)),
  );
}

/** A definition list of [term, value] pairs (values: text or nodes). */
export function facts(pairs) {
  return el(
    "dl",
    { class: "facts" },
    pairs.filter(Boolean).map(([term, value]) => [el("dt", { text: term }), el("dd", {}, value instanceof Node ? value : String(value ?? "—"))]),
  );
}

// --- formatting ----------------------------------------------------------------------------------

export function num(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  const size = Math.abs(value);
  if (size !== 0 && (size >= 1e5 || size < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}

export function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "—";
}

export function mapping(object) {
  const entries = Object.entries(object || {});
  return entries.length ? entries.map(([k, v]) => `${k}=${num(v)}`).join(", ") : "—";
}

/** A run's value of `key`: an engine metric or a task metric. */
export function metricOf(metrics, key) {
  if (!metrics) return null;
  if (key in metrics && typeof metrics[key] === "number") return metrics[key];
  return metrics.task && key in metrics.task ? metrics.task[key] : null;
}

// --- problems, plots, readiness ------------------------------------------------------------------

/** What to do about a 401 (the credential form is opened) or a 403. */
function credentialAdvice(error, status) {
  if (status === 403) {
    return el("p", {
      class: "advice",
      text: "Your credentials are valid, but their role does not allow this: use an API key or token with the role named above (viewer < runner < admin).",
    });
  }
  revealCredentials(error.challenge);
  const reason = credential()
    ? "The server refused the credentials saved in this tab."
    : "This server needs credentials, and this tab has none saved.";
  return el(
    "p",
    { class: "advice" },
    `${reason} Enter an API key or a bearer token under Credentials at the top of the page. `,
    el("button", { type: "button", text: "Enter credentials", onclick: focusCredentials }),
  );
}

/** Show an error (a problem document when there is one) in `container`. */
export function showProblem(container, error) {
  const problem = error && error.problem;
  const status = problem ? problem.status : error && error.status;
  const lines = problem
    ? [
        el("strong", { text: `${problem.title} (${problem.status})` }),
        el("p", { text: problem.detail }),
        problem.errors && problem.errors.length
          ? el("ul", {}, problem.errors.map((e) => el("li", { text: `${e.pointer || "(body)"}: ${e.reason}` })))
          : null,
      ]
    : [el("strong", { text: "Request failed" }), el("p", { text: String(error && error.message) })];
  if (status === 401 || status === 403) lines.push(credentialAdvice(error, status));
  if (problem) lines.push(el("p", { class: "help", text: `Request id ${problem.request_id}` }));
  container.replaceChildren(el("div", { class: "problem" }, lines));
}

/** Plotly.newPlot with the dashboard's defaults; resolves once drawn. */
export function plot(target, data, layout = {}) {
  const base = {
    autosize: true, margin: { l: 64, r: 16, t: 24, b: 48 }, legend: { orientation: "h", y: -0.2 },
    font: { family: "system-ui, sans-serif", size: 12, color: "#1b1f24" }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  return window.Plotly.newPlot(target, data, { ...base, ...layout }, { responsive: true, displaylogo: false, displayModeBar: false });
}

/** `body[data-ready]`: "1" once rendered, "0" while an action re-renders, "error" on failure. */
export function setReady(state) {
  document.body.dataset.ready = state;
}

/** Run a page's loader: problems go to #page-problem; readiness is set either way. */
export function start(load) {
  setupCredentials();
  load().then(
    () => setReady("1"),
    (error) => {
      showProblem(byId("page-problem"), error);
      setReady("error");
    },
  );
}

/** Run a user action: data-ready is "0" until it has finished. */
export async function action(work) {
  setReady("0");
  try {
    return await work();
  } finally {
    setReady("1");
  }
}
