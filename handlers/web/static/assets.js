// Assets: GET /api/assets (filtered by ?project_id=, cursor pagination), each linked to its page.
import { api, byId, num, pageLink, pageQuery, renderPager, start, table, when } from "./core.js";

start(async () => {
  const query = pageQuery(["project_id", "format", "tag", "cursor", "limit"]);
  const page = await api("/api/assets", { query });
  byId("assets-filter").textContent = query.project_id ? `Assets of project ${query.project_id}.` : "";
  byId("assets-table").replaceChildren(
    table({
      caption: "Imported assets",
      columns: [
        { label: "Name", cell: (a) => pageLink(`/assets/${encodeURIComponent(a.id)}`, a.name), rowHeader: true },
        { label: "Id", cell: (a) => a.id },
        { label: "Format", cell: (a) => a.format },
        { label: "Links", cell: (a) => a.stats.links, num: true },
        { label: "Joints", cell: (a) => a.stats.joints, num: true },
        { label: "DoF", cell: (a) => a.stats.dof, num: true },
        { label: "Mass (kg)", cell: (a) => num(a.stats.total_mass_kg), num: true },
        { label: "Size (bytes)", cell: (a) => a.size_bytes, num: true },
        { label: "Project", cell: (a) => a.project_id || "—" },
        { label: "Created", cell: (a) => when(a.created_at) },
      ],
      rows: page.items,
      empty: "No asset yet (POST /api/assets/import).",
    }),
  );
  renderPager(byId("pager"), "/assets", query, page.next_cursor);
});
