// Plan: GET /api/ai/plans/{id}; each step is sent only when its button is clicked, with its
// bindings filled from the responses of steps submitted earlier on this page.
import { ApiError, action, api, byId, el, facts, num, pageLink, showProblem, start, statusBadge, when } from "./core.js";

const PLAN_ID = document.body.dataset.planId;
const responses = new Map(); // step id → 2xx response body, this page only
const OPS = { lt: (a, b) => a < b, le: (a, b) => a <= b, gt: (a, b) => a > b, ge: (a, b) => a >= b };
const OP_SIGNS = { lt: "<", le: "≤", gt: ">", ge: "≥" };

function tokens(pointer) {
  return pointer.split("/").slice(1).map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function pointerGet(document, pointer) {
  return tokens(pointer).reduce((node, token) => (node !== null && typeof node === "object" && token in node ? node[token] : undefined), document);
}

function pointerSet(document, pointer, value) {
  const path = tokens(pointer);
  const parent = path.slice(0, -1).reduce((node, token) => node[token], document);
  parent[path[path.length - 1]] = value;
}

/** Steps this one needs a response from that this page does not have yet. */
function waitingFor(step) {
  const needed = new Set([...step.depends_on, ...step.bindings.map((b) => b.step)]);
  return [...needed].filter((id) => !responses.has(id));
}

/** The path and body to send, bindings filled; null while a binding is not available. */
function prepare(step) {
  if (waitingFor(step).length) return null;
  let path = step.path;
  const body = step.request === null ? undefined : structuredClone(step.request);
  for (const binding of step.bindings) {
    const value = pointerGet(responses.get(binding.step), binding.source);
    if (value === undefined) throw new Error(`the response of ${binding.step} has no value at ${binding.source}`);
    if (binding.target === "path") path = path.replace(`{${binding.pointer.slice(1)}}`, encodeURIComponent(value));
    else pointerSet(body, binding.pointer, value);
  }
  return { path, body };
}

function idempotencyKey(step) {
  const random = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${PLAN_ID}.${step.id}.${random}`;
}

function linkFor(response) {
  const id = response.id || response.batch_id || "";
  if (id.startsWith("run_")) return pageLink(`/runs/${encodeURIComponent(id)}`, `Open run ${id}`);
  if (id.startsWith("bat_")) return pageLink(`/batches/${encodeURIComponent(id)}`, `Open batch ${id}`);
  return null;
}

function renderChecks(step, response) {
  return el(
    "ul",
    { class: "checks" },
    step.checks.map((check) => {
      const value = response ? pointerGet(response, check.source) : undefined;
      const known = typeof value === "number";
      const verdict = !response ? null : known ? (OPS[check.op](value, check.threshold) ? "PASS" : "FAIL") : "NO VALUE";
      return el(
        "li",
        {},
        verdict ? el("span", { class: `badge badge-${verdict === "PASS" ? "pass" : "fail"}`, text: verdict }) : "",
        ` ${check.description} (${check.source} ${OP_SIGNS[check.op]} ${check.threshold}${known ? `; value ${num(value)}` : ""})`,
      );
    }),
  );
}

function renderResult(step, response) {
  byId(`result-${step.id}`).replaceChildren(
    el("p", {}, "Answered: ", response.status ? statusBadge(response.status) : "OK", " ", linkFor(response) || ""),
    step.checks.length ? renderChecks(step, response) : "",
    el("details", {}, el("summary", { text: "Response" }), el("pre", { text: JSON.stringify(response, null, 2) })),
  );
}

/** Enable the steps whose bindings are available; show why the others wait. */
function refresh() {
  for (const step of plan.steps) {
    const button = byId(`submit-${step.id}`);
    const reason = byId(`reason-${step.id}`);
    const waiting = waitingFor(step);
    const sent = responses.has(step.id);
    let prepared = null;
    let unusable = "";
    try {
      prepared = prepare(step);
    } catch (error) {
      unusable = `Cannot be sent: ${error.message}.`;
    }
    button.disabled = sent || !prepared || button.dataset.busy === "1";
    button.textContent = sent ? `Submitted ${step.id}` : `Submit ${step.id}`;
    const wait = `Waiting for the response of ${waiting.join(", ")}: submit ${waiting.length > 1 ? "them" : "it"} first.`;
    reason.textContent = sent ? "" : waiting.length ? wait : unusable;
    byId(`request-${step.id}`).textContent = JSON.stringify(prepared ? prepared.body ?? null : step.request, null, 2);
    byId(`path-${step.id}`).textContent = `${step.method} ${prepared ? prepared.path : step.path}`;
  }
}

async function submit(step) {
  const button = byId(`submit-${step.id}`);
  const result = byId(`result-${step.id}`);
  button.dataset.busy = "1";
  refresh();
  result.replaceChildren(el("p", { text: "Sending… (an embedded server answers when the runs end)" }));
  try {
    const { path, body } = prepare(step);
    const headers = step.method === "GET" ? {} : { "Idempotency-Key": idempotencyKey(step) };
    const response = await api(path, { method: step.method, body, headers });
    responses.set(step.id, response);
    renderResult(step, response);
    result.tabIndex = -1;
    result.focus(); // the clicked button is disabled now; the answer takes the focus
  } catch (error) {
    showProblem(result, error instanceof ApiError ? error : new Error(error.message));
  } finally {
    delete button.dataset.busy;
    refresh();
  }
}

function renderStep(step) {
  return el(
    "li",
    { id: `step-${step.id}`, dataset: { step: step.id } },
    el("h3", { text: `${step.id} (${step.operation})` }),
    el("p", { text: step.rationale }),
    facts([
      ["Request", el("code", { id: `path-${step.id}` })],
      ["Creates", `${step.runs} run${step.runs === 1 ? "" : "s"}, ${step.steps_total} simulation steps`],
      ["Depends on", step.depends_on.join(", ") || "nothing"],
      ["Bindings", step.bindings.length ? el("ul", {}, step.bindings.map((b) => el("li", { text: `${b.target} ${b.pointer} ← ${b.step} response ${b.source}` }))) : "none"],
    ]),
    step.request !== null ? el("details", {}, el("summary", { text: "Body" }), el("pre", { id: `request-${step.id}` })) : el("pre", { id: `request-${step.id}`, hidden: true }),
    step.checks.length ? [el("p", { text: "Checks:" }), renderChecks(step, null)] : "",
    el("div", { class: "actions" }, el("button", { type: "button", class: "primary", id: `submit-${step.id}`, onclick: () => action(() => submit(step)) }), el("span", { class: "reason", id: `reason-${step.id}` })),
    el("div", { id: `result-${step.id}`, role: "status" }),
  );
}

let plan;

start(async () => {
  plan = await api(`/api/ai/plans/${encodeURIComponent(PLAN_ID)}`);
  byId("plan-summary").replaceChildren(
    facts([
      ["Task", plan.task],
      ["Summary", plan.summary],
      ["Generator", plan.generator],
      ["Created", when(plan.created_at)],
      ["Budget", `${plan.budget.max_runs} runs, ${plan.budget.max_steps_total} steps`],
      ["Cost", `${plan.cost.runs} runs, ${plan.cost.steps_total} steps`],
      ["Project", plan.project_id || "—"],
      ["Review required", plan.review_required ? "yes: nothing runs until you submit a step" : "no"],
    ]),
    el("details", {}, el("summary", { text: "Rationale" }), el("p", { text: plan.rationale })),
  );
  byId("plan-steps").replaceChildren(...plan.steps.map(renderStep));
  refresh();
});
