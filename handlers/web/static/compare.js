// Compare: pick succeeded runs (GET /api/runs?status=SUCCEEDED, plus any named in ?run=), a
// metric, and POST /api/sim/compare; the pairwise relative drops drawn as a heat map.
import {
  ApiError, action, api, byId, el, metricOf, num, percent, plot, runLink, showProblem, start, table,
} from "./core.js";

const LIMIT = 100;

function metricKeys(runs) {
  const keys = new Set();
  for (const run of runs) {
    for (const [key, value] of Object.entries(run.metrics || {})) if (typeof value === "number") keys.add(key);
    for (const key of Object.keys((run.metrics && run.metrics.task) || {})) keys.add(key);
  }
  return [...keys];
}

function renderPicker(runs, chosen, metric) {
  const select = byId("compare-metric");
  const keys = metricKeys(runs);
  const current = metric || (keys.includes("score") ? "score" : keys[0]);
  select.replaceChildren(...keys.map((k) => el("option", { value: k, text: k, selected: k === current })));
  byId("compare-picker").replaceChildren(
    table({
      caption: "Runs to compare",
      columns: [
        {
          label: "Run",
          rowHeader: true,
          cell: (r) => el("label", {}, el("input", { type: "checkbox", name: "run", value: r.id, checked: chosen.has(r.id) }), ` ${r.id}`),
        },
        { label: "Scenario", cell: (r) => r.scenario },
        { label: "Profile", cell: (r) => r.profile },
        { label: "Origin", cell: (r) => r.origin },
        { label: "Batch", cell: (r) => r.batch_id || "—" },
        { label: "Score", cell: (r) => num(metricOf(r.metrics, "score")), num: true },
      ],
      rows: runs,
      empty: "No succeeded run yet.",
    }),
  );
}

function label(entry, i) {
  return `#${i + 1} ${entry.profile}`;
}

function renderResult(result) {
  const names = result.runs.map(label);
  const trace = {
    type: "heatmap", x: names, y: names, z: result.drop_rel, zmin: -1, zmax: 1, colorscale: "RdBu",
    texttemplate: "%{z:.0%}", hovertemplate: "row %{y}, column %{x}<br>relative drop %{z:.1%}<extra></extra>",
    colorbar: { title: { text: "drop" }, tickformat: ".0%" },
  };
  const size = Math.min(640, 120 + 48 * names.length);
  const layout = {
    height: size + 60, margin: { l: 16, r: 16, t: 16, b: 16 },
    xaxis: { title: { text: "run j" }, tickangle: -30, automargin: true },
    yaxis: { title: { text: "run i" }, autorange: "reversed", automargin: true },
  };
  byId("compare-result").replaceChildren(
    table({
      caption: `${result.metric_key} (${result.direction.replaceAll("_", " ")}) of each run`,
      columns: [
        { label: "#", cell: (r) => String(r.i + 1), rowHeader: true },
        { label: "Run", cell: (r) => runLink(r.run_id) },
        { label: "Scenario", cell: (r) => r.scenario },
        { label: "Profile", cell: (r) => r.profile },
        { label: result.metric_key, cell: (r) => num(r.value), num: true },
      ],
      rows: result.runs.map((r, i) => ({ ...r, i })),
    }),
    table({
      caption: "Drop of run j (column) against run i (row): absolute (relative)",
      columns: [
        { label: "Run i \\ j", cell: (i) => names[i], rowHeader: true },
        ...names.map((name, j) => ({ label: name, cell: (i) => `${num(result.drop_abs[i][j])} (${percent(result.drop_rel[i][j])})`, num: true })),
      ],
      rows: names.map((_, i) => i),
    }),
  );
  return plot(byId("plot-compare"), [trace], layout);
}

async function compare() {
  const form = byId("compare-form");
  const runIds = [...form.querySelectorAll('input[name="run"]:checked')].map((box) => box.value);
  for (const id of ["compare-metric-error", "compare-runs-error", "compare-problem"]) byId(id).replaceChildren();
  try {
    const result = await api("/api/sim/compare", { method: "POST", body: { run_ids: runIds, metric_key: form.elements.metric_key.value } });
    await renderResult(result);
  } catch (error) {
    if (!(error instanceof ApiError) || !error.problem) throw error;
    const rest = (error.problem.errors || []).filter((e) => {
      const target = e.pointer.startsWith("/run_ids") ? "compare-runs-error" : e.pointer === "/metric_key" ? "compare-metric-error" : null;
      if (target) byId(target).textContent = e.reason;
      return !target;
    });
    if (rest.length || !(error.problem.errors || []).length) showProblem(byId("compare-problem"), error);
  }
}

start(async () => {
  const params = new URLSearchParams(location.search);
  const wanted = params.getAll("run");
  const recent = (await api("/api/runs", { query: { status: "SUCCEEDED", limit: LIMIT } })).items;
  const known = new Set(recent.map((r) => r.id));
  const named = await Promise.all(wanted.filter((id) => !known.has(id)).map((id) => api(`/v1/runs/${encodeURIComponent(id)}`)));
  renderPicker([...named, ...recent], new Set(wanted), params.get("metric"));
  byId("compare-form").addEventListener("submit", (event) => {
    event.preventDefault();
    action(compare).catch((error) => showProblem(byId("compare-problem"), error));
  });
  if (wanted.length >= 2) await compare();
});
