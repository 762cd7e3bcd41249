// Start a run or a batch: the form is built from the request schema of POST /v1/runs or POST
// /api/sim/batch in /openapi.json; choices come from /v1/scenarios, /api/reality-profiles,
// /api/projects and /api/assets. Problem-document errors land next to their fields.
import { ApiError, action, allItems, api, byId, el, openapi, pageLink, showProblem, start, statusBadge } from "./core.js";
import { SchemaForm, resolve } from "./schemaform.js";

const KIND = document.body.dataset.kind;
const OPERATION = { run: "/v1/runs", batch: "/api/sim/batch" };

function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

/** Put each error next to its field; returns the errors no field took. */
function placeErrors(form, builder, errors) {
  const rest = [];
  let first = null;
  for (const error of errors) {
    const field = builder.locate(form, error.pointer);
    const slot = field && field.querySelector(":scope > .field-error");
    if (!slot) {
      rest.push(error);
      continue;
    }
    slot.textContent = [slot.textContent, error.reason].filter(Boolean).join("; ");
    const control = field.querySelector(":scope > input, :scope > select") || field;
    control.setAttribute("aria-invalid", "true");
    first = first || control;
  }
  if (first) first.focus();
  return rest;
}

/** The browser's own checks (required, min, max) shown the same way; false if any failed. */
function checkLocally(form) {
  const bad = [...form.querySelectorAll("input, select")].filter((c) => !c.checkValidity());
  for (const control of bad) {
    const field = control.closest("[data-pointer]");
    const slot = field && field.querySelector(":scope > .field-error");
    if (slot) slot.textContent = control.validationMessage;
    control.setAttribute("aria-invalid", "true");
  }
  if (bad.length) bad[0].focus();
  return bad.length === 0;
}

async function send(form, builder) {
  const result = byId("create-result");
  clearErrors(form);
  result.replaceChildren();
  if (!checkLocally(form)) return;
  const body = builder.body();
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  result.replaceChildren(el("p", { text: "Submitting… (an embedded server answers when the run ends)" }));
  try {
    const created = await api(OPERATION[KIND], { method: "POST", body });
    const path = created.id.startsWith("bat_") ? `/batches/${encodeURIComponent(created.id)}` : `/runs/${encodeURIComponent(created.id)}`;
    result.replaceChildren(
      el("p", { class: "created" }, `Created ${KIND} `, pageLink(path, created.id), " ", statusBadge(created.status)),
      el("details", {}, el("summary", { text: "Request body sent" }), el("pre", { text: JSON.stringify(body, null, 2) })),
    );
  } catch (error) {
    if (!(error instanceof ApiError) || !error.problem) throw error;
    const rest = placeErrors(form, builder, error.problem.errors || []);
    showProblem(result, rest.length || !(error.problem.errors || []).length ? error : { problem: { ...error.problem, errors: [] } });
  } finally {
    button.disabled = false;
  }
}

start(async () => {
  const [document, scenarios, profiles, projects, assets] = await Promise.all([
    openapi(),
    api("/v1/scenarios"),
    api("/api/reality-profiles"),
    allItems("/api/projects", { limit: 1000 }),
    allItems("/api/assets", { limit: 1000 }),
  ]);
  const schema = document.paths[OPERATION[KIND]].post.requestBody.content["application/json"].schema;
  const root = resolve(document, schema);
  const builder = new SchemaForm(document, { scenarios: scenarios.items, profiles: profiles.items, projects, assets });
  const form = byId("create-form");
  form.replaceChildren(...builder.object(root), el("div", { class: "actions" }, el("button", { type: "submit", text: `Start ${KIND}` })));
  // Parameters follow the chosen scenario (or the one the server would default to).
  const scenario = form.querySelector('[data-pointer="/scenario"] select');
  const fallback = resolve(document, root.properties.scenario).default;
  const showParams = () => builder.showParams(scenario.value || fallback);
  scenario.addEventListener("change", showParams);
  showParams();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    action(() => send(form, builder)).catch((error) => showProblem(byId("create-result"), error));
  });
});
