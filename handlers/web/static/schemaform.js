// A form built from a request schema of the server's OpenAPI document: one input per property
// ($ref resolved within components.schemas), read back into a JSON body; problem-document
// errors are shown next to the field their JSON pointer names.
import { el } from "./core.js";

/** `schema` with `$ref` and `anyOf: [X, null]` resolved; the referring schema's keys win. */
export function resolve(document, schema) {
  let current = schema || {};
  for (let depth = 0; depth < 16; depth += 1) {
    if (current.$ref) {
      const { $ref, ...rest } = current;
      current = { ...document.components.schemas[$ref.split("/").pop()], ...rest };
    } else if (current.anyOf) {
      const options = current.anyOf.filter((option) => option.type !== "null");
      if (options.length !== 1) return current;
      const { anyOf, ...rest } = current;
      current = { ...options[0], ...rest, nullable: true };
    } else {
      return current;
    }
  }
  return current;
}

function fieldId(pointer) {
  return `field${pointer.replaceAll("/", "-")}`;
}

function helpText(schema) {
  const limits = [];
  if (schema.minimum !== undefined) limits.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) limits.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) limits.push(`≤ ${schema.maximum}`);
  if (schema.default !== undefined && !Array.isArray(schema.default)) limits.push(`default ${schema.default}`);
  return [schema.description, limits.length ? `(${limits.join(", ")})` : ""].filter(Boolean).join(" ");
}

/** One labelled field: label, control, help, error slot (the last two describe the control). */
function wrap(pointer, label, control, schema, { check = false, required = false } = {}) {
  const id = fieldId(pointer);
  control.id = control.id || id;
  control.setAttribute("aria-describedby", `${id}-help ${id}-error`);
  if (required) control.required = true;
  const text = `${label}${required ? " (required)" : ""}`;
  return el(
    "div",
    { class: check ? "form-field check" : "form-field", dataset: { pointer } },
    check ? [control, el("label", { for: control.id, text })] : [el("label", { for: control.id, text }), control],
    el("p", { class: "help", id: `${id}-help`, text: helpText(schema) }),
    el("p", { class: "field-error", id: `${id}-error` }),
  );
}

function select(choices, { blank, value }) {
  const options = choices.map(([v, text]) => el("option", { value: v, text, selected: v === value }));
  return el("select", {}, blank === null ? "" : el("option", { value: "", text: blank, selected: value === undefined }), options);
}

function numberInput(schema) {
  const integer = schema.type === "integer";
  return el("input", {
    type: "number",
    min: schema.minimum ?? schema.exclusiveMinimum,
    max: schema.maximum,
    step: integer ? "1" : "any",
    placeholder: schema.default !== undefined ? String(schema.default) : null,
    inputmode: integer ? "numeric" : "decimal",
  });
}

const asNumber = (schema) => (text) => (text === "" ? undefined : schema.type === "integer" ? Number.parseInt(text, 10) : Number(text));

/** Builds the form; `choices` has scenarios, profiles, projects and assets from the API. */
export class SchemaForm {
  constructor(document, choices) {
    this.document = document;
    this.choices = choices;
    this.fields = []; // {pointer, read(): value | undefined}
    this.params = []; // [container, pointer] of scenario-parameter objects
  }

  /** The inputs of an object schema's properties under `pointer`. */
  object(schema, pointer = "") {
    const required = new Set(schema.required || []);
    return Object.entries(schema.properties || {}).map(([name, property]) => this.property(name, resolve(this.document, property), `${pointer}/${name}`, required.has(name)));
  }

  property(name, schema, pointer, required) {
    const { scenarios, profiles, projects, assets } = this.choices;
    const label = name.replaceAll("_", " ");
    const title = schema.title;
    const items = schema.type === "array" ? resolve(this.document, schema.items) : null;
    const text = (value) => (value === "" ? undefined : value);
    if (schema.type === "object" && schema.properties) {
      const error = el("p", { class: "field-error" });
      return el("fieldset", { dataset: { pointer } }, el("legend", { text: label }), el("p", { class: "help", text: schema.description }), error, this.object(schema, pointer));
    }
    if (schema.type === "object" && schema.additionalProperties && name === "params") {
      const box = el("div", { class: "params" });
      this.params.push([box, pointer]);
      return el("fieldset", { dataset: { pointer } }, el("legend", { text: label }), el("p", { class: "help", text: schema.description }), el("p", { class: "field-error" }), box);
    }
    if (items && items.title === "ProfileName") {
      const boxes = profiles.map((p) => el("input", { type: "checkbox", value: p.name, name: pointer }));
      this.fields.push({ pointer, read: () => { const on = boxes.filter((b) => b.checked).map((b) => b.value); return on.length ? on : undefined; } });
      return el(
        "fieldset",
        { dataset: { pointer }, id: fieldId(pointer), "aria-describedby": `${fieldId(pointer)}-help ${fieldId(pointer)}-error` },
        el("legend", { text: `${label}${required ? " (required)" : ""}` }),
        el("div", { class: "choices" }, boxes.map((box, i) => el("label", {}, box, profiles[i].name))),
        el("p", { class: "help", id: `${fieldId(pointer)}-help`, text: helpText(schema) }),
        el("p", { class: "field-error", id: `${fieldId(pointer)}-error` }),
      );
    }
    let control;
    let read;
    const lists = { ScenarioName: scenarios.map((s) => [s.name, `${s.name} — ${s.title}`]), ProfileName: profiles.map((p) => [p.name, p.name]), ProjectId: projects.map((p) => [p.id, `${p.name} (${p.id})`]), AssetId: assets.map((a) => [a.id, `${a.name} (${a.id})`]) };
    if (lists[title] || schema.enum) {
      const choices = lists[title] || schema.enum.map((v) => [v, v]);
      control = select(choices, { blank: schema.default !== undefined ? `server default (${schema.default})` : required ? "Choose…" : "none", value: undefined });
      read = () => text(control.value);
    } else if (schema.type === "boolean") {
      control = el("input", { type: "checkbox", checked: schema.default === true });
      read = () => (control.checked === (schema.default ?? false) ? undefined : control.checked);
      return this.add(pointer, read, wrap(pointer, label, control, schema, { check: true }));
    } else if (schema.type === "integer" || schema.type === "number") {
      control = numberInput(schema);
      const parse = asNumber(schema);
      read = () => parse(control.value);
    } else if (items && items.type === "string") {
      control = el("input", { type: "text", placeholder: "comma-separated", spellcheck: "false" });
      read = () => { const list = control.value.split(",").map((v) => v.trim()).filter(Boolean); return list.length ? list : undefined; };
    } else {
      control = el("input", { type: name.includes("secret") ? "password" : "text", maxlength: schema.maxLength, spellcheck: "false", autocomplete: "off", placeholder: schema.examples ? `e.g. ${schema.examples[0]}` : null });
      read = () => text(control.value.trim());
    }
    return this.add(pointer, read, wrap(pointer, label, control, schema, { required }));
  }

  add(pointer, read, node) {
    this.fields.push({ pointer, read });
    return node;
  }

  /** Show the chosen scenario's parameters (Scenario.params) as number inputs. */
  showParams(scenarioName) {
    const scenario = this.choices.scenarios.find((s) => s.name === scenarioName);
    for (const [box, pointer] of this.params) {
      this.fields = this.fields.filter((f) => !f.pointer.startsWith(`${pointer}/`));
      if (!scenario) {
        box.replaceChildren(el("p", { class: "help", text: "Choose a scenario to set its parameters." }));
        continue;
      }
      box.replaceChildren(
        ...scenario.params.map((p) => {
          const schema = { type: "number", minimum: p.minimum, maximum: p.maximum, default: p.default, description: `${p.description}${p.unit ? ` [${p.unit}]` : ""}` };
          const control = numberInput(schema);
          return this.add(`${pointer}/${p.name}`, () => asNumber(schema)(control.value), wrap(`${pointer}/${p.name}`, p.name.replaceAll("_", " "), control, schema));
        }),
      );
      if (!scenario.params.length) box.replaceChildren(el("p", { class: "help", text: `${scenario.name} has no parameters.` }));
    }
  }

  /** The JSON body: every field with a value, at its pointer. */
  body() {
    const body = {};
    for (const { pointer, read } of this.fields) {
      const value = read();
      if (value === undefined) continue;
      const path = pointer.split("/").slice(1);
      const parent = path.slice(0, -1).reduce((node, key) => (node[key] = node[key] || {}), body);
      parent[path[path.length - 1]] = value;
    }
    return body;
  }

  /** The field element of `pointer` (its longest registered prefix), or null. */
  locate(form, pointer) {
    const known = [...form.querySelectorAll("[data-pointer]")].map((node) => node.dataset.pointer);
    const best = known.filter((p) => p && (pointer === p || pointer.startsWith(`${p}/`))).sort((a, b) => b.length - a.length)[0];
    return best ? form.querySelector(`[data-pointer="${best}"]`) : null;
  }
}
