// Asset: GET /api/assets/{id} and its preview (GET .../preview.png, fetched as a blob so the
// credential stays in a header).
import { api, byId, el, facts, num, request, showProblem, start, table, when } from "./core.js";

const ASSET_ID = document.body.dataset.assetId;
const PATH = `/api/assets/${encodeURIComponent(ASSET_ID)}`;

function renderDetails(asset) {
  byId("asset-details").replaceChildren(
    facts([
      ["Name", asset.name],
      ["Id", asset.id],
      ["Format", `${asset.format} (${asset.source_kind}, ${asset.container})`],
      ["Main file", asset.main_file],
      ["SHA-256", asset.sha256],
      ["Project", asset.project_id || "—"],
      ["Tags", asset.tags.join(", ") || "—"],
      ["Created", when(asset.created_at)],
      ["Derived from", asset.derived_from ? asset.derived_from.asset_id : "— (imported)"],
      ["Check in PyBullet", `${asset.check.loaded ? "loaded" : "did not load"}, ${asset.check.steps} steps, finite: ${asset.check.finite}, base drift ${num(asset.check.base_drift_m)} m`],
      ["Warnings", asset.warnings.length ? el("ul", {}, asset.warnings.map((w) => el("li", { text: w }))) : "none"],
    ]),
  );
}

function renderStats(asset) {
  const s = asset.stats;
  const box = s.bounding_box_m;
  const rows = [
    ["Links", s.links], ["Joints", s.joints], ["Degrees of freedom", s.dof], ["Total mass (kg)", num(s.total_mass_kg)],
    ["Size (m)", (s.size_m || []).map(num).join(" × ")],
    ["Bounding box (m)", box ? `[${box.min.map(num).join(", ")}] to [${box.max.map(num).join(", ")}]` : "—"],
    ["Triangles", s.triangles], ["Meshes", s.meshes], ["Watertight meshes", s.watertight_meshes],
    ["Units suspect", s.units_suspect ? "yes" : "no"],
  ];
  byId("asset-stats").replaceChildren(
    table({ caption: "What the import measured", columns: [{ label: "Stat", cell: (r) => r[0], rowHeader: true }, { label: "Value", cell: (r) => String(r[1] ?? "—"), num: true }], rows }),
  );
  byId("asset-files").replaceChildren(
    table({
      caption: `Canonical files (${asset.files.length}, ${asset.size_bytes} bytes)`,
      columns: [
        { label: "Path", cell: (f) => f.path, rowHeader: true },
        { label: "Size (bytes)", cell: (f) => f.size_bytes, num: true },
        { label: "SHA-256", cell: (f) => f.sha256 },
      ],
      rows: asset.files,
    }),
  );
}

async function renderPreview(asset) {
  const figure = byId("asset-preview");
  try {
    const blob = await (await request(`${PATH}/preview.png`, { accept: "image/png" })).blob();
    const image = el("img", { src: URL.createObjectURL(blob), alt: `Rendering of ${asset.name} at zero joint positions` });
    await new Promise((resolve, reject) => {
      image.addEventListener("load", resolve, { once: true });
      image.addEventListener("error", () => reject(new Error("the preview is not a readable image")), { once: true });
      figure.prepend(image);
    });
  } catch (error) {
    showProblem(figure, error);
  }
}

start(async () => {
  const asset = await api(PATH);
  renderDetails(asset);
  renderStats(asset);
  await renderPreview(asset);
});
