// Benchmark: GET /api/benchmarks/latest — G_dyn, G_perc, G_perf per profile and per scenario.
import { ApiError, api, byId, el, facts, num, percent, plot, start, table, when } from "./core.js";

function renderSummary(report) {
  const suite = report.suite;
  const engine = report.engine;
  byId("bench-summary").replaceChildren(
    facts([
      ["Report", report.id],
      ["Created", when(report.created_at)],
      ["Suite", `${suite.name} ${suite.version}`],
      ["Scenarios", suite.scenarios.join(", ")],
      ["Baseline", suite.baseline_profile],
      ["Profiles", suite.profiles.join(", ")],
      ["Episodes × seeds × steps", `${suite.episodes} × ${suite.seeds.length} × ${suite.steps ?? "default"}`],
      ["Engine", `${engine.engine} ${engine.engine_version}, QERS ${engine.qers_version}`],
      ["Duration", `${num(report.duration_s)} s`],
      ["G_dyn (mean / worst NRMSE)", `${num(report.G_dyn.nrmse_mean)} / ${num(report.G_dyn.nrmse_worst)} (${report.G_dyn.worst_dimension})`],
      ["G_perc", num(report.G_perc.value)],
      ["G_perf (success-rate drop / score drop)", `${num(report.G_perf.success_rate_drop_abs)} / ${num(report.G_perf.score_drop_abs)}`],
    ]),
  );
}

function renderTables(report) {
  byId("bench-profiles").replaceChildren(
    table({
      caption: `Gaps of each profile against ${report.suite.baseline_profile}`,
      columns: [
        { label: "Profile", cell: (p) => p.profile, rowHeader: true },
        { label: "G_dyn mean", cell: (p) => num(p.G_dyn.nrmse_mean), num: true },
        { label: "G_dyn worst", cell: (p) => num(p.G_dyn.nrmse_worst), num: true },
        { label: "Worst dimension", cell: (p) => p.G_dyn.worst_dimension || "—" },
        { label: "G_perc", cell: (p) => num(p.G_perc.value), num: true },
        { label: "G_perf success drop", cell: (p) => num(p.G_perf.success_rate_drop_abs), num: true },
        { label: "G_perf score drop", cell: (p) => `${num(p.G_perf.score_drop_abs)} (${percent(p.G_perf.score_drop_rel)})`, num: true },
        { label: "Score correlation", cell: (p) => num(p.G_perf.score_correlation), num: true },
      ],
      rows: report.profiles,
    }),
  );
  const rows = report.profiles.flatMap((p) => p.scenarios.map((s) => ({ profile: p.profile, ...s })));
  byId("bench-scenarios").replaceChildren(
    table({
      caption: "Gaps of each profile in each scenario",
      columns: [
        { label: "Profile", cell: (r) => r.profile, rowHeader: true },
        { label: "Scenario", cell: (r) => r.scenario },
        { label: "Episodes", cell: (r) => r.episodes, num: true },
        { label: "G_dyn mean", cell: (r) => num(r.G_dyn.nrmse_mean), num: true },
        { label: "G_dyn worst", cell: (r) => `${num(r.G_dyn.nrmse_worst)} (${r.G_dyn.worst_dimension || "—"})`, num: true },
        { label: "G_perc", cell: (r) => num(r.G_perc.value), num: true },
        { label: "Success rate (baseline → profile)", cell: (r) => `${num(r.baseline_success_rate)} → ${num(r.pseudo_reality_success_rate)}`, num: true },
        { label: "Score mean (baseline → profile)", cell: (r) => `${num(r.baseline_score_mean)} → ${num(r.pseudo_reality_score_mean)}`, num: true },
      ],
      rows,
    }),
  );
}

/** One bar trace per profile: its NRMSE in every observation dimension (scenario:dimension). */
function dynamicsPlot(report) {
  const traces = report.profiles.map((p) => ({
    type: "bar", name: p.profile, x: Object.keys(p.G_dyn.per_dimension), y: Object.values(p.G_dyn.per_dimension),
  }));
  const layout = { height: 440, barmode: "group", margin: { l: 16, r: 16, t: 16, b: 16 }, showlegend: true, legend: { orientation: "h", y: 1.08 } };
  layout.xaxis = { tickangle: -45, automargin: true };
  layout.yaxis = { title: { text: "NRMSE" }, automargin: true, exponentformat: "e" };
  return plot(byId("plot-dyn"), traces, layout);
}

start(async () => {
  let report;
  try {
    report = await api("/api/benchmarks/latest");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    byId("bench-summary").replaceChildren(el("p", { text: "No benchmark report yet: run `qers bench gaps` on the server." }));
    return;
  }
  renderSummary(report);
  renderTables(report);
  await dynamicsPlot(report);
});
