// Runs: GET /api/runs with the filters of the page's query string, cursor pagination, and the
// progress of unfinished runs polled from GET /v1/runs/{id}.
import {
  FINAL, allItems, api, byId, el, metricOf, num, openapi, pageLink, pageQuery, progressBar,
  renderPager, runLink, start, statusBadge, table, when,
} from "./core.js";

const FILTERS = ["status", "scenario", "profile", "project_id", "origin", "batch_id", "tag", "limit", "cursor"];
const POLL_MS = 1000;

function enumOf(document, name) {
  const schema = document.components.schemas[name];
  return schema && schema.enum ? schema.enum : [];
}

function fillSelect(select, values, current) {
  for (const [value, label] of values) select.append(el("option", { value, text: label, selected: value === current }));
}

async function fillFilters(query) {
  const [document, scenarios, profiles, projects] = await Promise.all([
    openapi(),
    api("/v1/scenarios"),
    api("/api/reality-profiles"),
    allItems("/api/projects", { limit: 1000 }),
  ]);
  const form = byId("filters");
  fillSelect(form.elements.status, enumOf(document, "RunStatus").map((s) => [s, s]), query.status);
  fillSelect(form.elements.origin, enumOf(document, "RunOrigin").map((s) => [s, s]), query.origin);
  fillSelect(form.elements.scenario, scenarios.items.map((s) => [s.name, s.name]), query.scenario);
  fillSelect(form.elements.profile, profiles.items.map((p) => [p.name, p.name]), query.profile);
  fillSelect(form.elements.project_id, projects.map((p) => [p.id, p.name]), query.project_id);
  if (query.limit) form.elements.limit.value = query.limit;
  // Filters without a control here (from links: a batch's children, a tag) survive "Apply".
  for (const name of ["batch_id", "tag"]) if (query[name]) form.append(el("input", { type: "hidden", name, value: query[name] }));
  // Empty filters stay out of the address.
  form.addEventListener("formdata", (event) => {
    for (const [name, value] of [...event.formData.entries()]) if (value === "") event.formData.delete(name);
  });
  return new Map(projects.map((p) => [p.id, p.name]));
}

function renderRuns(runs, projectNames) {
  const columns = [
    { label: "Run", cell: (r) => runLink(r.id), rowHeader: true },
    { label: "Status", cell: (r) => el("span", { class: "run-status", dataset: { runId: r.id } }, statusBadge(r.status)) },
    { label: "Progress", cell: (r) => el("span", { class: "run-progress", dataset: { runId: r.id } }, progressBar(r.progress, `Progress of ${r.id}`)) },
    { label: "Scenario", cell: (r) => r.scenario },
    { label: "Profile", cell: (r) => r.profile },
    { label: "Origin", cell: (r) => r.origin },
    { label: "Project", cell: (r) => (r.project_id ? projectNames.get(r.project_id) || r.project_id : "—") },
    { label: "Batch", cell: (r) => (r.batch_id ? pageLink(`/batches/${encodeURIComponent(r.batch_id)}`, r.batch_id) : "—") },
    { label: "Score", cell: (r) => num(metricOf(r.metrics, "score")), num: true },
    { label: "Created", cell: (r) => when(r.created_at) },
  ];
  byId("runs-table").replaceChildren(table({ caption: "Runs, newest first", columns, rows: runs, empty: "No run matches these filters." }));
}

/** Update the status and progress cells of unfinished runs until they end. */
function poll(ids) {
  const pending = new Set(ids);
  const tick = async () => {
    const runs = await Promise.all([...pending].map((id) => api(`/v1/runs/${encodeURIComponent(id)}`).catch(() => null)));
    for (const run of runs.filter(Boolean)) {
      for (const cell of document.querySelectorAll(`.run-status[data-run-id="${run.id}"]`)) cell.replaceChildren(statusBadge(run.status));
      for (const cell of document.querySelectorAll(`.run-progress[data-run-id="${run.id}"]`)) cell.replaceChildren(progressBar(run.progress, `Progress of ${run.id}`));
      if (FINAL.has(run.status)) pending.delete(run.id);
    }
    if (pending.size) setTimeout(tick, interval());
  };
  // One request per unfinished run and tick: slower when many are unfinished.
  const interval = () => POLL_MS * Math.ceil(pending.size / 10);
  if (pending.size) setTimeout(tick, interval());
}

start(async () => {
  const query = pageQuery(FILTERS);
  const [projectNames, page] = await Promise.all([fillFilters(query), api("/api/runs", { query: { limit: 50, ...query } })]);
  renderRuns(page.items, projectNames);
  renderPager(byId("pager"), "/runs", query, page.next_cursor);
  const shown = page.items.length;
  const scope = [query.batch_id && `children of batch ${query.batch_id}`, query.tag && `tagged ${query.tag}`].filter(Boolean);
  byId("runs-summary").textContent = `${shown} run${shown === 1 ? "" : "s"}${scope.length ? ` (${scope.join(", ")})` : ""} on this page${page.next_cursor ? "; more on the next" : ""}.`;
  poll(page.items.filter((r) => !FINAL.has(r.status)).map((r) => r.id));
});
