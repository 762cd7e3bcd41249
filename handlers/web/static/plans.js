// Plans: a form (plain GET, no script needed) that opens /dashboard/plans/{id}.
import { start } from "./core.js";

start(async () => {});
