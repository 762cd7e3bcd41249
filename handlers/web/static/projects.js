// Projects: GET /api/projects (cursor pagination), each linked to its runs and assets.
import { api, byId, pageLink, pageQuery, renderPager, start, table, when } from "./core.js";

start(async () => {
  const query = pageQuery(["cursor", "limit", "include_archived"]);
  const page = await api("/api/projects", { query });
  const scoped = (path, p, text) => pageLink(`${path}?project_id=${encodeURIComponent(p.id)}`, text);
  byId("projects-table").replaceChildren(
    table({
      caption: "Projects",
      columns: [
        { label: "Name", cell: (p) => p.name, rowHeader: true },
        { label: "Id", cell: (p) => p.id },
        { label: "Runs", cell: (p) => scoped("/runs", p, "Runs") },
        { label: "Assets", cell: (p) => scoped("/assets", p, "Assets") },
        { label: "Tags", cell: (p) => p.tags.join(", ") || "—" },
        { label: "Archived", cell: (p) => (p.archived ? "yes" : "no") },
        { label: "Created", cell: (p) => when(p.created_at) },
        { label: "Description", cell: (p) => p.description || "—", wrap: true },
      ],
      rows: page.items,
      empty: "No project yet (POST /api/projects).",
    }),
  );
  renderPager(byId("pager"), "/projects", query, page.next_cursor);
});
