// Batch: GET /api/sim/batch/{id}, .../evaluate and its child runs (GET /api/runs?batch_id=);
// children's states followed while the batch runs, everything reloaded once it has ended.
import {
  ApiError, action, allItems, api, byId, el, facts, href, mapping, metricOf, num, pageLink, percent,
  plot, queryString, runLink, showProblem, start, statusBadge, table, when,
} from "./core.js";

const BATCH_ID = document.body.dataset.batchId;
const PATH = `/api/sim/batch/${encodeURIComponent(BATCH_ID)}`;
const ACTIVE = new Set(["CREATED", "QUEUED", "RUNNING"]);
const POLL_MS = 2000;
const MARKER = { color: "#1a4f8b", size: 7 };

function counts(batch) {
  return Object.entries(batch.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(", ");
}

function renderSummary(batch, rankingMetric, runs) {
  const spec = batch.spec;
  const done = runs.filter((r) => r.status === "SUCCEEDED").map((r) => r.id);
  const compare = href("/dashboard/compare") + queryString({ run: done.slice(0, 100), metric: rankingMetric });
  byId("batch-summary").replaceChildren(
    facts([
      ["Status", el("span", { id: "batch-status" }, statusBadge(batch.status))],
      ["Scenario", spec.scenario],
      ["Profiles", spec.profiles.join(", ")],
      ["Baseline", spec.baseline_profile],
      ["Episodes per profile", spec.dr_episodes_per_profile],
      ["Steps per run", spec.steps ?? "scenario default"],
      ["Seed", spec.seed],
      ["Robot", spec.asset_id ? pageLink(`/assets/${encodeURIComponent(spec.asset_id)}`, spec.asset_id) : spec.urdf_path || "scenario default"],
      ["Children", el("span", { id: "batch-counts", text: counts(batch) })],
      ["Project", batch.project_id ? pageLink(`/runs?project_id=${encodeURIComponent(batch.project_id)}`, batch.project_id) : "—"],
      ["Created", when(batch.created_at)],
      ["Finished", when(batch.finished_at)],
    ]),
    el(
      "p",
      { class: "actions" },
      el("a", { href: href("/dashboard/runs") + queryString({ batch_id: batch.id }), text: "Child runs in the runs list" }),
      done.length >= 2 ? el("a", { href: compare, text: `Compare the ${done.length} succeeded child runs on ${rankingMetric}` }) : "",
    ),
  );
}

function renderRanking(evaluation) {
  const drops = new Map(evaluation.profiles.map((p) => [p.profile, p.drops[evaluation.ranking_metric]]));
  byId("batch-ranking").replaceChildren(
    el("p", { text: `Ranking metric ${evaluation.ranking_metric}; baseline ${evaluation.baseline_profile}; largest drop first.` }),
    evaluation.complete ? "" : el("p", { class: "note", text: "Children are still running: the figures cover the finished ones only." }),
    el(
      "ol",
      { id: "ranking" },
      evaluation.ranking.map((profile) => {
        const drop = drops.get(profile);
        return el("li", { dataset: { profile } }, el("strong", { text: profile }), drop ? ` — drop ${num(drop.drop_abs)} (${percent(drop.drop_rel)})` : "");
      }),
    ),
  );
}

/** Box plot of the ranking metric per profile, from the succeeded children's own values. */
function rankingPlot(batch, runs, key) {
  const traces = batch.spec.profiles.map((profile) => ({
    type: "box", name: profile, boxpoints: "all", jitter: 0.3, pointpos: 0,
    y: runs.filter((r) => r.profile === profile && r.status === "SUCCEEDED").map((r) => metricOf(r.metrics, key)),
  }));
  return plot(byId("plot-ranking"), traces, { height: 340, showlegend: false, yaxis: { title: { text: key } } });
}

/** Mean and 95% CI of every metric per profile, one small panel per metric. */
function metricsPlot(batch, keys) {
  const target = byId("plot-metrics");
  const columns = target.clientWidth < 700 ? 2 : 4;
  const rows = Math.ceil(keys.length / columns);
  const layout = { grid: { rows, columns, pattern: "independent", ygap: 0.45, xgap: 0.25 }, height: 200 * rows + 40, showlegend: false, annotations: [], margin: { l: 56, r: 16, t: 28, b: 40 } };
  const profiles = batch.profiles.filter((p) => p.metrics && Object.keys(p.metrics).length);
  const traces = keys.map((key, i) => {
    const axis = i ? i + 1 : "";
    layout.annotations.push({ text: key, showarrow: false, xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1.18, font: { size: 12 } });
    layout[`xaxis${axis}`] = { type: "category", tickfont: { size: 10 } };
    const stats = profiles.map((p) => p.metrics[key]);
    return {
      type: "scatter", mode: "markers", name: key, xaxis: `x${axis}`, yaxis: `y${axis}`, marker: MARKER,
      x: profiles.map((p) => p.profile),
      y: stats.map((s) => (s ? s.mean : null)),
      error_y: {
        type: "data", symmetric: false,
        array: stats.map((s) => (s && s.ci95_high !== null ? s.ci95_high - s.mean : 0)),
        arrayminus: stats.map((s) => (s && s.ci95_low !== null ? s.mean - s.ci95_low : 0)),
      },
    };
  });
  return plot(target, traces, layout);
}

function dropsPlot(evaluation, keys) {
  const others = evaluation.profiles.filter((p) => p.profile !== evaluation.baseline_profile);
  if (!others.length) return null;
  const z = others.map((p) => keys.map((k) => (p.drops[k] ? p.drops[k].drop_rel : null)));
  const trace = {
    type: "heatmap", x: keys, y: others.map((p) => p.profile), z, zmin: -1, zmax: 1, colorscale: "RdBu",
    texttemplate: "%{z:.0%}", hovertemplate: "%{y} · %{x}<br>relative drop %{z:.1%}<extra></extra>",
    colorbar: { title: { text: "drop (±100% and beyond)" }, tickformat: ".0%" },
  };
  const layout = { height: 180 + 48 * others.length, margin: { l: 150, r: 16, t: 16, b: 130 }, xaxis: { tickangle: -40 } };
  return plot(byId("plot-drops"), [trace], layout);
}

function renderDrops(evaluation, keys) {
  const others = evaluation.profiles.filter((p) => p.profile !== evaluation.baseline_profile);
  const cell = (p, k) => (p.drops[k] ? `${num(p.drops[k].drop_abs)} (${percent(p.drops[k].drop_rel)})` : "—");
  byId("batch-drops").replaceChildren(
    table({
      caption: `Drop against ${evaluation.baseline_profile}: absolute (relative); positive = worse`,
      columns: [{ label: "Metric", cell: (k) => k, rowHeader: true }, ...others.map((p) => ({ label: p.profile, cell: (k) => cell(p, k), num: true }))],
      rows: keys,
    }),
  );
  byId("batch-gaps").replaceChildren(
    table({
      caption: "Gap widths: spread across episodes (largest within a profile) and across profile means",
      columns: [
        { label: "Metric", cell: ([k]) => k, rowHeader: true },
        { label: "Across episodes", cell: ([, g]) => num(g.across_episodes), num: true },
        { label: "Across profiles", cell: ([, g]) => num(g.across_profiles), num: true },
      ],
      rows: keys.filter((k) => evaluation.gap_widths[k]).map((k) => [k, evaluation.gap_widths[k]]),
    }),
  );
}

function renderChildren(batch, runs, key) {
  const byRun = new Map(runs.map((r) => [r.id, r]));
  byId("batch-children").replaceChildren(
    table({
      caption: `Child runs (${batch.children.length})`,
      columns: [
        { label: "Run", cell: (c) => runLink(c.run_id), rowHeader: true },
        { label: "Profile", cell: (c) => c.profile },
        { label: "Episode", cell: (c) => c.episode, num: true },
        { label: "Status", cell: (c) => el("span", { class: "child-status", dataset: { runId: c.run_id } }, statusBadge(c.status)) },
        { label: key, cell: (c) => num(byRun.has(c.run_id) ? metricOf(byRun.get(c.run_id).metrics, key) : null), num: true },
        { label: "Domain-randomisation sample", cell: (c) => mapping(c.dr_sample), wrap: true },
        { label: "Failure", cell: (c) => (c.failure_code ? `${c.failure_code}: ${c.failure_reason || ""}` : "—"), wrap: true },
      ],
      rows: batch.children,
    }),
  );
}

/** The evaluation, or null while no baseline child has succeeded (then it would be a 409). */
async function evaluationOf(batch) {
  const baseline = batch.profiles.find((p) => p.profile === batch.spec.baseline_profile);
  if (!baseline || !baseline.succeeded) return null;
  try {
    return await api(`${PATH}/evaluate`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return null;
    throw error;
  }
}

async function load() {
  const [batch, runs] = await Promise.all([api(PATH), allItems("/api/runs", { batch_id: BATCH_ID, limit: 1000 })]);
  const evaluation = await evaluationOf(batch);
  const key = evaluation ? evaluation.ranking_metric : "score";
  const keys = evaluation ? evaluation.metrics.map((m) => m.key) : Object.keys((batch.profiles[0] || {}).metrics || {});
  renderSummary(batch, key, runs);
  renderChildren(batch, runs, key);
  const plots = [rankingPlot(batch, runs, key), metricsPlot(batch, keys)];
  if (evaluation) {
    renderRanking(evaluation);
    renderDrops(evaluation, keys);
    plots.push(dropsPlot(evaluation, keys));
  } else {
    byId("batch-ranking").replaceChildren(el("p", { text: "No evaluation yet: no child of the baseline profile has succeeded." }));
  }
  await Promise.all(plots);
  if (ACTIVE.has(batch.status)) setTimeout(follow, POLL_MS);
}

/** While children run, update the states in place; once the batch ends, load everything again. */
async function follow() {
  try {
    const batch = await api(PATH);
    byId("batch-status").replaceChildren(statusBadge(batch.status));
    byId("batch-counts").textContent = counts(batch);
    for (const child of batch.children) {
      const cell = document.querySelector(`.child-status[data-run-id="${child.run_id}"]`);
      if (cell) cell.replaceChildren(statusBadge(child.status));
    }
    if (ACTIVE.has(batch.status)) setTimeout(follow, POLL_MS);
    else await action(load);
  } catch (error) {
    showProblem(byId("page-problem"), error);
  }
}

start(load);
