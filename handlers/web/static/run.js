// Run: GET /v1/runs/{id} (polled while unfinished), POST .../cancel, then .../metrics?history=true
// and .../replay (JSON, strided to at most MAX_ROWS rows; ?format=npz downloaded as a blob).
import {
  FINAL, action, api, byId, download, el, facts, mapping, metricOf, num, pageLink, plot,
  progressBar, setReady, showProblem, start, statusBadge, table, when,
} from "./core.js";

const RUN_ID = document.body.dataset.runId;
const PATH = `/v1/runs/${encodeURIComponent(RUN_ID)}`;
const POLL_MS = 700;
const MAX_ROWS = 2000;

function renderStatus(run) {
  byId("run-status").replaceChildren(
    facts([
      ["Status", el("span", { id: "status-badge" }, statusBadge(run.status))],
      ["Progress", progressBar(run.progress, "Run progress")],
      ["Steps", `${run.progress ? run.progress.steps_done : 0} of ${run.progress ? run.progress.steps_total : "?"}`],
      run.failure_code && ["Failure", `${run.failure_code}: ${run.failure_reason || ""}`],
      ["Created", when(run.created_at)],
      ["Started", when(run.started_at)],
      ["Finished", when(run.finished_at)],
    ]),
  );
  // The buttons are replaced only when they change, so a focused one keeps its focus.
  const wanted = [!FINAL.has(run.status) && "cancel", run.artifacts && run.artifacts.replay && "download"].filter(Boolean);
  const box = byId("run-actions");
  if ([...box.children].map((b) => b.id).join() !== wanted.join()) box.replaceChildren(...wanted.map((id) => BUTTONS[id]()));
}

const BUTTONS = {
  cancel: () => el("button", { type: "button", id: "cancel", onclick: cancel, text: "Cancel run" }),
  download: () => el("button", { type: "button", id: "download", onclick: downloadReplay, text: "Download replay (.npz)" }),
};

function renderConfig(run) {
  const c = run.config || {};
  byId("run-config").replaceChildren(
    facts([
      ["Scenario", run.scenario],
      ["Profile", run.profile],
      ["Origin", run.origin],
      ["Project", run.project_id ? pageLink(`/runs?project_id=${encodeURIComponent(run.project_id)}`, run.project_id) : "—"],
      ["Batch", run.batch_id ? pageLink(`/batches/${encodeURIComponent(run.batch_id)}`, `${run.batch_id} (episode ${run.episode})`) : "—"],
      ["Tags", run.tags.join(", ") || "—"],
      ["Seed", c.seed],
      ["Steps", c.steps],
      ["Timestep (s)", num(c.dt)],
      ["Wall-clock limit (s)", num(c.max_duration_s)],
      ["Replay recorded", c.record_replay ? "yes" : "no"],
      ["Robot", c.asset_id ? pageLink(`/assets/${encodeURIComponent(c.asset_id)}`, c.asset_id) : c.urdf_path || "scenario default"],
      ["Parameters", mapping(c.params)],
      ["Domain-randomisation sample", mapping(run.dr_sample)],
      run.replay_of && ["Replay of", pageLink(`/runs/${encodeURIComponent(run.replay_of)}`, run.replay_of)],
      run.replay_of && ["Replay matches", String(run.replay_match)],
      ["Trajectory SHA-256", run.trajectory_sha256 || "—"],
    ]),
  );
}

function renderMetrics(metrics, specs) {
  const keys = [...specs.keys()];
  for (const key of Object.keys(metrics.task || {})) if (!specs.has(key)) keys.push(key);
  const rows = keys.map((key) => ({ key, value: metricOf(metrics, key), spec: specs.get(key) || {} })).filter((r) => r.value !== null);
  byId("run-metrics").replaceChildren(
    metrics.partial ? el("p", { class: "note", text: "Partial: the run did not finish." }) : "",
    table({
      caption: "Metrics of the run",
      columns: [
        { label: "Metric", cell: (r) => r.key, rowHeader: true },
        { label: "Value", cell: (r) => num(r.value), num: true },
        { label: "Unit", cell: (r) => r.spec.unit || "—" },
        { label: "Direction", cell: (r) => (r.spec.direction || "—").replaceAll("_", " ") },
        { label: "Description", cell: (r) => r.spec.description || "—", wrap: true },
      ],
      rows,
    }),
  );
}

function historyPlot(history) {
  const target = byId("plot-history");
  const keys = Object.keys(history ? history.series : {});
  if (!keys.length) {
    target.removeAttribute("role");
    target.replaceChildren(el("p", { text: "No metric history was recorded." }));
    return null;
  }
  const layout = { grid: { rows: keys.length, columns: 1, pattern: "coupled" }, height: 150 * keys.length + 70, showlegend: false };
  keys.forEach((key, i) => {
    layout[`yaxis${i ? i + 1 : ""}`] = { title: { text: key }, automargin: true };
  });
  layout.xaxis = { title: { text: "step" } };
  const traces = keys.map((key, i) => ({
    type: "scatter", mode: "lines", name: key, x: history.step, y: history.series[key], yaxis: i ? `y${i + 1}` : "y",
  }));
  return plot(target, traces, layout);
}

function replayPlots(replay) {
  const columns = replay.columns;
  const names = replay.manifest.joint_names;
  byId("replay-info").replaceChildren(
    facts([
      ["Rows shown", `${replay.rows} (every ${replay.stride} recorded step${replay.stride === 1 ? "" : "s"})`],
      ["Recorded steps", replay.manifest.steps_recorded],
      ["Partial", replay.manifest.partial ? "yes" : "no"],
      ["Joints", names.join(", ") || "—"],
    ]),
  );
  const axis = ["x", "y", "z (height)"];
  const base = axis.map((label, i) => ({ type: "scatter", mode: "lines", name: label, x: columns.t, y: columns.base_position.map((p) => p[i]) }));
  const joints = names.map((name, j) => ({ type: "scatter", mode: "lines", name, x: columns.t, y: columns.joint_position.map((q) => q[j]) }));
  const time = { title: { text: "simulated time (s)" } };
  return [
    plot(byId("plot-base"), base, { height: 320, xaxis: time, yaxis: { title: { text: "m" } } }),
    joints.length ? plot(byId("plot-joints"), joints, { height: 360, xaxis: time, yaxis: { title: { text: "joint position" } } }) : null,
  ];
}

async function renderResults(run, specs) {
  const plots = [];
  const loads = [];
  if (run.artifacts && run.artifacts.metrics) {
    loads.push(api(`${PATH}/metrics`, { query: { history: true } }).then((metrics) => {
      renderMetrics(metrics, specs);
      plots.push(historyPlot(metrics.history));
    }));
  } else {
    byId("run-metrics").replaceChildren(el("p", { text: "This run has no metrics." }));
  }
  if (run.artifacts && run.artifacts.replay) {
    const recorded = run.progress ? run.progress.steps_done : run.config.steps;
    const stride = Math.max(1, Math.ceil(recorded / MAX_ROWS));
    loads.push(api(`${PATH}/replay`, { query: { stride } }).then((replay) => plots.push(...replayPlots(replay))));
  } else {
    byId("replay-info").replaceChildren(el("p", { text: "No replay was recorded for this run." }));
  }
  await Promise.all(loads);
  await Promise.all(plots);
}

async function cancel() {
  await action(async () => {
    try {
      const run = await api(`${PATH}/cancel`, { method: "POST" });
      renderStatus(run);
      byId("run-message").textContent = `Cancel requested: ${run.status}.`;
    } catch (error) {
      showProblem(byId("run-message"), error);
    }
    await finished.catch(() => null);
  });
}

async function downloadReplay() {
  try {
    const size = await download(`${PATH}/replay`, { query: { format: "npz" }, filename: `${RUN_ID}-replay.npz` });
    byId("run-message").textContent = `Downloaded ${RUN_ID}-replay.npz (${(size / 1024).toFixed(1)} kB).`;
  } catch (error) {
    showProblem(byId("run-message"), error);
  }
}

/** Poll the run until it ends; resolves with the final run. */
function watch() {
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        const run = await api(PATH);
        renderStatus(run);
        if (FINAL.has(run.status)) resolve(run);
        else setTimeout(tick, POLL_MS);
      } catch (error) {
        reject(error);
      }
    };
    setTimeout(tick, POLL_MS);
  });
}

let finished = Promise.resolve();

start(async () => {
  const [run, scenarios] = await Promise.all([api(PATH), api("/v1/scenarios")]);
  const scenario = scenarios.items.find((s) => s.name === run.scenario);
  const specs = new Map((scenario ? scenario.metrics : []).map((m) => [m.key, m]));
  renderStatus(run);
  renderConfig(run);
  if (FINAL.has(run.status)) {
    await renderResults(run, specs);
    return;
  }
  finished = watch().then(async (final) => {
    setReady("0");
    renderConfig(final);
    await renderResults(final, specs);
    setReady("1");
  });
  finished.catch((error) => {
    showProblem(byId("page-problem"), error);
    setReady("error");
  });
});
