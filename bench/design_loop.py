"""Design: `POST /api/design/segment` and `POST /api/design/linkage`, timed through the API
under uvicorn (bench.servers) beside the same work done here.

Two meshes: the example arm (`examples/design/arm.obj`, three boxes, 36 triangles) and a
torus of 20,000 triangles made here (100 x 100 sections). For each, the API segments it
(`mesh_groups` or `connected_components`, then `convex_decomposition`) and builds a linkage
(the example's two joints with the URDF exported and checked in 240 steps; the torus as a
single link). Side by side, in this process and without a server:

- the example's segmentation job run by an `Executor` on `simengine.api.segment_asset`
  (the job the service builds): what the API adds is HTTP, the staging folder, the
  document and the publishing rename;
- CoACD called directly on the torus with the same settings (`coacd.run_coacd`): what the
  API adds to a long decomposition is the child, reading and writing meshes, and the
  inertia of each part.

Targets: the API's overhead over the child for the example (median of per-round
differences) ≤ 200 ms, the same bound and reasoning as the asset import bench (the two
sides are separate children on a shared machine: it catches a child-sized cost put into the
request, not milliseconds); and the torus's decomposition through the API ≤ 1.5 times CoACD's
own time.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import coacd
import httpx
import numpy as np
import trimesh

from bench.report import result
from bench.servers import ROOT, settle_descendants, uvicorn_server
from generated.models.RunStatus_schema import RunStatus
from handlers.isolation.executor import Executor, ExecutorConfig
from simengine import api as engine_api

ROUNDS = int(os.environ.get("BENCH_DESIGN_ROUNDS", "5"))
TARGET_OVERHEAD_MS = 200.0
TARGET_RATIO = 1.5
TIMEOUT_S = 300.0
THRESHOLD = 0.05


def torus_obj() -> tuple[bytes, trimesh.Trimesh]:
    """A closed torus of 20,000 triangles (R 0.3 m, r 0.1 m), as OBJ text and as a mesh."""
    mesh = trimesh.creation.torus(0.3, 0.1, major_sections=100, minor_sections=100)
    lines = [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in mesh.vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in mesh.faces]
    return ("\n".join(lines) + "\n").encode(), mesh


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    settle_descendants()
    started = time.perf_counter()
    answer = client.post(path, json=body)
    elapsed = time.perf_counter() - started
    if answer.status_code != 201:
        raise RuntimeError(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")
    return elapsed * 1000, answer.json()


def child_segment(runs_dir: Path, asset: dict[str, Any], work: Path, method: str) -> float:
    """Milliseconds for the service's segmentation job, run in a child here."""
    executor = Executor(ExecutorConfig(target=engine_api.segment_asset))
    work.mkdir(parents=True)
    job = {
        "asset_dir": str(runs_dir / "assets" / asset["id"] / "files"),
        "main_file": asset["main_file"],
        "format": asset["format"],
        "source_kind": asset["source_kind"],
        "method": method,
        "density_kg_m3": 1000.0,
        "max_parts": 64,
        "decomposition": {"threshold": THRESHOLD, "max_hulls": None, "seed": 0},
        "out_dir": str(work),
        "limits": {"max_triangles": 2_000_000},
    }
    settle_descendants()
    started = time.perf_counter()
    outcome = executor.execute(job, max_duration_s=TIMEOUT_S)
    elapsed = time.perf_counter() - started
    if outcome.status != RunStatus.SUCCEEDED:
        raise RuntimeError(f"child segmentation: {outcome.failure_reason}")
    return elapsed * 1000


def direct_coacd(mesh: trimesh.Trimesh) -> tuple[float, int]:
    """Milliseconds and hulls of CoACD on `mesh` in this process."""
    coacd.set_log_level("error")
    settle_descendants()
    started = time.perf_counter()
    hulls = coacd.run_coacd(
        coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)),
        threshold=THRESHOLD,
        preprocess_mode="off",
        seed=0,
    )
    return (time.perf_counter() - started) * 1000, len(hulls)


def main() -> int:
    torus_bytes, torus = torus_obj()
    spec = json.loads((ROOT / "examples" / "design" / "linkage.json").read_text())
    with tempfile.TemporaryDirectory(prefix="qers-bench-design-") as tmp:
        runs_dir = Path(tmp) / "runs"
        env = {"RUNS_DIR": str(runs_dir), "QERS_LOG_LEVEL": "WARNING"}
        with (
            uvicorn_server("handlers.app:create_app", factory=True, env=env) as port,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT_S) as client,
        ):
            _, arm = post(
                client,
                "/api/assets/import-path",
                {"source_path": "examples/design/arm.obj"} | {"name": "arm"},
            )
            answer = client.post(
                "/api/assets/import",
                data={"name": "torus"},
                files={"file": ("torus.obj", torus_bytes)},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"torus import: {answer.status_code} {answer.text[:300]}")
            torus_asset = answer.json()
            api_ms, child_ms = [], []
            for round_ in range(ROUNDS + 1):
                body = {"asset_id": arm["id"], "method": "mesh_groups"}
                ms, groups = post(client, "/api/design/segment", body)
                work = Path(tmp) / f"child-{round_}"
                child = child_segment(runs_dir, arm, work, "mesh_groups")
                if round_:  # the first round warms both sides up
                    api_ms.append(ms)
                    child_ms.append(child)
            decompose = {"asset_id": arm["id"], "method": "convex_decomposition"}
            arm_hulls_ms, arm_hulls = post(client, "/api/design/segment", decompose)
            link_ms = []
            for _ in range(3):
                ms, built = post(
                    client, "/api/design/linkage", spec | {"segmentation_id": groups["id"]}
                )
                link_ms.append(ms)
            check = built["verification"]
            torus_body = {"asset_id": torus_asset["id"], "method": "convex_decomposition"}
            torus_api_ms, torus_seg = post(client, "/api/design/segment", torus_body)
            torus_direct_ms, direct_hulls = direct_coacd(torus)
            torus_cc_ms, torus_cc = post(
                client,
                "/api/design/segment",
                {"asset_id": torus_asset["id"], "method": "connected_components"},
            )
            part = torus_cc["parts"][0]["name"]
            torus_link = {
                "segmentation_id": torus_seg["id"],
                "robot_name": "torus",
                "root": part,
                "joints": [],
                "export_urdf": True,
            }
            torus_link_ms, _ = post(client, "/api/design/linkage", torus_link)
    overhead = statistics.median(a - c for a, c in zip(api_ms, child_ms, strict=True))
    hulls = sum(len(p["hulls"]) for p in torus_seg["parts"])
    print("design: POST /api/design/segment and /linkage vs the same work here")
    print(f"  example arm (3 boxes, 36 triangles), mesh_groups, {ROUNDS} rounds")
    print(f"    POST ms:  {', '.join(f'{v:.0f}' for v in api_ms)}")
    print(f"    child ms: {', '.join(f'{v:.0f}' for v in child_ms)}")
    print(
        f"    median API {statistics.median(api_ms):.0f} ms,"
        f" child {statistics.median(child_ms):.0f} ms; overhead {overhead:.0f} ms"
    )
    arm_hull_count = sum(len(p["hulls"]) for p in arm_hulls["parts"])
    print(f"  example arm, convex_decomposition: {arm_hulls_ms:.0f} ms ({arm_hull_count} hulls)")
    print(
        f"  example linkage (2 joints, URDF exported, check {check['steps']} steps): "
        f"{', '.join(f'{v:.0f}' for v in link_ms)} ms"
    )
    print(f"  torus (20,000 triangles), connected_components: {torus_cc_ms:.0f} ms")
    print(
        f"  torus, convex_decomposition: API {torus_api_ms:.0f} ms ({hulls} hulls), "
        f"CoACD here {torus_direct_ms:.0f} ms ({direct_hulls} hulls)"
    )
    print(
        f"  torus linkage (1 link, {hulls} collision hulls, exported, checked):"
        f" {torus_link_ms:.0f} ms"
    )
    ratio = torus_api_ms / torus_direct_ms
    code = result(
        "design segment API overhead over the child, example arm (median ms)",
        f"{overhead:.0f}",
        f"<= {TARGET_OVERHEAD_MS:g}",
        overhead <= TARGET_OVERHEAD_MS,
    )
    return code | result(
        "design 20k-triangle convex decomposition, API / CoACD direct",
        f"{ratio:.2f}",
        f"<= {TARGET_RATIO:g}",
        ratio <= TARGET_RATIO,
    )


if __name__ == "__main__":
    sys.exit(main())
