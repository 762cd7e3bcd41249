"""The layers stay honest: imports point one way, and the API never loads pybullet."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("simengine", {"fastapi", "starlette", "generated", "handlers", "codegen"}),
        ("generated", {"handlers", "simengine", "codegen"}),
        ("codegen", {"generated", "handlers", "simengine", "fastapi"}),
    ],
)
def test_package_imports_point_one_way(package: str, forbidden: set[str]) -> None:
    bad = sorted((where, mod) for where, mod in _imports(package) if mod in forbidden)
    assert bad == []


def test_api_process_never_imports_pybullet_pxr_or_trimesh(tmp_path: Path) -> None:
    script = """
import json
import sys
from fastapi.testclient import TestClient
from handlers.app import create_app
from handlers.settings import Settings
client = TestClient(create_app(Settings(runs_dir=sys.argv[1])))
health = client.get("/v1/health").json()
assert health["engine"]["ok"], health
run = client.post("/v1/runs", json={"scenario": "drop_test", "options": {"steps": 50}})
assert run.json()["status"] == "SUCCEEDED", run.text
# Imports parse USD, meshes and URDFs, and previews render, all in children.
for name, data in (("robot.usda", USD), ("box.obj", OBJ), ("r.urdf", URDF)):
    files = {"file": (name, data)}
    asset = client.post("/api/assets/import", data={"name": name}, files=files)
    assert asset.status_code == 201, asset.text
    preview = client.get(f"/api/assets/{asset.json()['id']}/preview.png")
    assert preview.status_code == 200, preview.text
# The design loop segments in a child, checks a linkage here and steps it in a child.
arm = {"source_path": "examples/design/arm.obj", "name": "arm"}
arm = client.post("/api/assets/import-path", json=arm).json()["id"]
segmented = {"asset_id": arm, "method": "mesh_groups"}
segmented = client.post("/api/design/segment", json=segmented)
assert segmented.status_code == 201, segmented.text
spec = json.loads(open("examples/design/linkage.json").read())
spec["segmentation_id"] = segmented.json()["id"]
built = client.post("/api/design/linkage", json=spec)
assert built.status_code == 201, built.text
# pybullet_data (a folder of robot files) may load; the engine's C module never does.
heavy = ("pybullet", "pxr", "trimesh", "scipy")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(",".join(loaded) or "none")
"""
    from tests.handlers.assets.test_api import two_boxes_obj, usd_robot

    fixtures = (
        f"USD = {usd_robot()!r}\nOBJ = {two_boxes_obj()!r}\n"
        f"URDF = {(ROOT / 'examples' / 'simple_robot.urdf').read_bytes()!r}\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", fixtures + script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"


# --- The import graph of `handlers`, built from the source with `ast`. -------------------------
#
# Every `import` and `from ... import` counts, wherever it stands: in functions, methods,
# `if TYPE_CHECKING:` blocks and try blocks. Relative imports are resolved. `from a.b import c`
# is an edge to `a.b.c` when that is a module file, else to `a.b`; `import a.b.c` is an edge to
# `a.b.c`. Package `__init__.py` files are nodes like any module. With `module_level=True` only
# the imports that run when the module is imported count (not those in function bodies or under
# `if TYPE_CHECKING:`): that is what decides whether importing a module loads pybullet.

HANDLERS = "handlers"
SHARED_PACKAGES = frozenset({"handlers.http", "handlers.kit"})
ROOT_MODULES = frozenset({"__init__.py", "app.py", "settings.py", "errors.py"})
# Importable aliases of the old RQ job paths, kept for one release; present or absent.
LEGACY_ROOT_MODULES = frozenset({"rqworker.py", "notify.py"})
HTTP_FRAMEWORKS = frozenset({"fastapi", "starlette"})
GENERATED_WIRING = ("generated.api", "generated.registry", "generated.routers", "generated.deps")
MAX_LINES = 300
# The engine modules handlers may import: exactly those it needs, none of them loads pybullet.
ENGINE_ALLOWED = frozenset(
    {
        "simengine.api",
        "simengine.assets",
        "simengine.cpu",
        "simengine.design.linkage",
        "simengine.errors",
        "simengine.evaluation",
        "simengine.gaps",
        "simengine.replay",
        "simengine.spec",
        "simengine.stats",
        "simengine.versions",
    }
)


@dataclass(frozen=True, order=True)
class Edge:
    """One import statement's edge: `source` (a module of the scanned package) imports `target`."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} -> {self.target}"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_statements(
    tree: ast.Module, *, module_level: bool
) -> Iterator[ast.Import | ast.ImportFrom]:
    if not module_level:
        yield from (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))
        return
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # runs when called, not when the module is imported
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, root: Path
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = ".".join(package[: len(package) - (node.level - 1)])
        origin = f"{base}.{node.module}" if node.module else base
    else:
        origin = node.module or ""
    found = []
    for alias in node.names:
        child = f"{origin}.{alias.name}"
        found.append(child if alias.name != "*" and _is_module(child, root) else origin)
    return found


def build_import_edges(root: Path, package: str, *, module_level: bool = False) -> list[Edge]:
    """Every import edge out of the modules of `package` (a folder under `root`)."""
    edges = set()
    for path in sorted((root / package).rglob("*.py")):
        module = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_statements(tree, module_level=module_level):
            for target in _targets(node, module, path.name == "__init__.py", root):
                edges.add(Edge(module, target, path.relative_to(root).as_posix(), node.lineno))
    return sorted(edges)


def build_graph(root: Path, package: str, *, module_level: bool = False) -> dict[str, set[str]]:
    """Module -> the modules it imports; every module of `package` is a node."""
    graph: dict[str, set[str]] = {
        _module_name(path, root): set() for path in (root / package).rglob("*.py")
    }
    for edge in build_import_edges(root, package, module_level=module_level):
        graph[edge.source].add(edge.target)
    return graph


@cache
def _handlers_edges() -> tuple[Edge, ...]:
    return tuple(build_import_edges(ROOT, HANDLERS))


def _within(module: str, *packages: str) -> bool:
    """Whether `module` is one of `packages` or inside one of them."""
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def _listing(items: Iterable[object]) -> str:
    return "".join(f"\n  {item}" for item in items)


def find_cycles(graph: Mapping[str, Iterable[str]], limit: int = 100) -> list[list[str]]:
    """The elementary cycles of `graph`, each as a chain `[a, b, ..., a]` (at most `limit`).

    Tarjan's algorithm finds the strongly connected components; the cycles are then listed
    within each component, each one once, starting from its smallest node.
    """
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    succ = {n: sorted(set(graph.get(n, ()))) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in succ[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in nodes:
        if node not in index:
            connect(node)

    cycles: list[list[str]] = []

    def walk(start: str, path: list[str], component: set[str]) -> None:
        for nxt in succ[path[-1]]:
            if len(cycles) >= limit:
                return
            if nxt == start:
                cycles.append([*path, start])
            elif nxt in component and nxt > start and nxt not in path:
                walk(start, [*path, nxt], component)

    for component in sorted(components, key=min):
        if len(component) > 1 or any(n in succ[n] for n in component):
            for start in sorted(component):
                walk(start, [start], component)
    return cycles


def _chain(cycle: list[str]) -> str:
    return " -> ".join(cycle)


# --- 1. No cycles. -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b", "c"}, "b": {"c"}, "c": {"x"}}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"a"}}, [["a", "a"]]),
        (
            {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}},
            [["a", "b", "c", "a"], ["d", "e", "d"]],
        ),
        ({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}, [["a", "b", "a"], ["a", "c", "a"]]),
    ],
)
def test_cycle_finder_finds_exactly_the_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert find_cycles(graph) == expected


def test_graph_builder_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The builder must not miss imports, or the rules below could pass vacuously."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import sub\n")
    (pkg / "sub" / "__init__.py").write_text("from .leaf import thing\n")
    (pkg / "sub" / "leaf.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import pkg.other\n"
        "from .. import other\n"
        "from ..other import name\n"
        "if TYPE_CHECKING:\n"
        "    from pkg import typed\n"
        "try:\n"
        "    import tried\n"
        "except ImportError:\n"
        "    pass\n"
        "class C:\n"
        "    def method(self) -> None:\n"
        "        import in_method\n"
        "def function() -> None:\n"
        "    from pkg.sub import leaf\n"
    )
    (pkg / "other.py").write_text("")
    (pkg / "typed.py").write_text("")
    everything = build_graph(tmp_path, "pkg")
    assert everything == {
        "pkg": {"pkg.sub"},
        "pkg.sub": {"pkg.sub.leaf"},
        "pkg.sub.leaf": {"typing", "pkg.other", "pkg.typed", "tried", "in_method", "pkg.sub.leaf"},
        "pkg.other": set(),
        "pkg.typed": set(),
    }
    at_import = build_graph(tmp_path, "pkg", module_level=True)
    assert at_import["pkg.sub.leaf"] == {"typing", "pkg.other", "tried"}


@pytest.mark.parametrize("package", [HANDLERS, "simengine"])
def test_no_import_cycles(package: str) -> None:
    graph = {
        module: {t for t in targets if _within(t, package)}
        for module, targets in build_graph(ROOT, package).items()
    }
    cycles = find_cycles(graph)
    assert cycles == [], f"import cycles among {package} modules:" + _listing(map(_chain, cycles))


# --- 2-5. Who may import what. -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("handlers.kit", ("handlers.kit", "handlers.errors")),
        (
            "handlers.http",
            ("handlers.http", "handlers.kit", "handlers.errors", "handlers.settings"),
        ),
    ],
)
def test_shared_packages_import_no_domain(package: str, allowed: tuple[str, ...]) -> None:
    bad = [
        e
        for e in _handlers_edges()
        if _within(e.source, package) and _within(e.target, HANDLERS)
        if not _within(e.target, *allowed)
    ]
    assert bad == [], f"{package} may import from handlers only {allowed}:" + _listing(bad)


def test_isolation_knows_no_http() -> None:
    allowed = ("handlers.isolation", "handlers.kit", "handlers.errors")
    web = ("fastapi", "starlette", "uvicorn", "handlers.http")
    bad = [
        e
        for e in _handlers_edges()
        if _within(e.source, "handlers.isolation")
        if _within(e.target, *web)
        or (_within(e.target, HANDLERS) and not _within(e.target, *allowed))
    ]
    assert bad == [], (
        f"handlers.isolation may import neither {web} nor handlers other than {allowed}:"
        + _listing(bad)
    )


def _at_the_edge(module: str) -> bool:
    """handlers.app, handlers.http.*, and handlers.<domain>.api."""
    parts = module.split(".")
    is_domain_api = (
        len(parts) == 3 and parts[2] == "api" and f"{HANDLERS}.{parts[1]}" not in SHARED_PACKAGES
    )
    return module == "handlers.app" or _within(module, "handlers.http") or is_domain_api


def test_http_frameworks_only_at_the_edge() -> None:
    bad = [
        e
        for e in _handlers_edges()
        if _within(e.target, *HTTP_FRAMEWORKS) and not _at_the_edge(e.source)
    ]
    print("fastapi/starlette imported away from the edge:" + _listing(bad))
    assert bad == [], (
        "only handlers/app.py, handlers/http/* and handlers/<domain>/api.py may import "
        "fastapi or starlette:" + _listing(bad)
    )


def test_generated_wiring_only_in_the_composition_root() -> None:
    bad = [
        e
        for e in _handlers_edges()
        if _within(e.target, *GENERATED_WIRING) and e.source != "handlers.app"
    ]
    assert bad == [], f"only handlers/app.py may import {GENERATED_WIRING}:" + _listing(bad)


# --- 6. The engine modules handlers reaches never load pybullet. -------------------------------


def _pybullet_chain(module: str, graph: Mapping[str, set[str]]) -> list[str] | None:
    """A chain of module-level imports from `module` to pybullet, or None if there is none.

    Importing a module also runs the `__init__.py` of each package above it.
    """

    def steps(node: str) -> list[str]:
        parts = node.split(".")
        parents = [".".join(parts[:i]) for i in range(1, len(parts))]
        return [p for p in parents if p in graph] + sorted(graph.get(node, ()))

    seen = {module}
    queue = [[module]]
    while queue:
        chain = queue.pop(0)
        for nxt in steps(chain[-1]):
            if _within(nxt, "pybullet"):
                return [*chain, nxt]
            if nxt not in seen:
                seen.add(nxt)
                queue.append([*chain, nxt])
    return None


@cache
def _engine_graph() -> dict[str, set[str]]:
    return build_graph(ROOT, "simengine", module_level=True)


def test_pybullet_reachability_is_detected() -> None:
    """The chain finder sees pybullet where it is: else the allow-set check passes vacuously."""
    assert _pybullet_chain("simengine.engine", _engine_graph()) == ["simengine.engine", "pybullet"]
    assert _pybullet_chain("simengine.runner", _engine_graph()) is not None
    # simengine.api imports the runner only inside a function: with every import it is reached.
    assert _pybullet_chain("simengine.api", build_graph(ROOT, "simengine")) is not None


def test_handlers_reach_only_the_pybullet_free_engine_modules() -> None:
    uses = [e for e in _handlers_edges() if _within(e.target, "simengine")]
    outside = [e for e in uses if e.target not in ENGINE_ALLOWED]
    unused = sorted(ENGINE_ALLOWED - {e.target for e in uses})
    graph = _engine_graph()
    missing = sorted(m for m in ENGINE_ALLOWED if m not in graph)
    loading = {m: _pybullet_chain(m, graph) for m in sorted(ENGINE_ALLOWED) if m in graph}
    chains = [_chain(chain) for chain in loading.values() if chain]
    problems = (
        [f"imports outside the allow-set: {e}" for e in outside]
        + [f"allowed but not used by handlers (drop it): {m}" for m in unused]
        + [f"allowed but not a simengine module: {m}" for m in missing]
        + [f"allowed but loads pybullet at import: {c}" for c in chains]
    )
    assert problems == [], "handlers must reach only pybullet-free engine modules:" + _listing(
        problems
    )


# --- 7-9. Shape. -------------------------------------------------------------------------------


def test_only_the_root_modules_stand_at_the_top() -> None:
    present = {p.name for p in (ROOT / HANDLERS).glob("*.py")}
    extra = sorted(present - ROOT_MODULES - LEGACY_ROOT_MODULES)
    absent = sorted(ROOT_MODULES - present)
    assert (extra, absent) == ([], []), (
        f"handlers/ holds exactly {sorted(ROOT_MODULES)} (and, for one release, "
        f"{sorted(LEGACY_ROOT_MODULES)}); unexpected: {extra}, missing: {absent}"
    )
    into_root = [
        e
        for e in _handlers_edges()
        if e.target == "handlers.app" and Path(e.path).parent != Path(HANDLERS)
    ]
    assert into_root == [], "no domain module may import handlers.app:" + _listing(into_root)


def test_no_module_over_300_lines() -> None:
    counts = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((ROOT / HANDLERS).rglob("*.py"))
    }
    over = [f"{path}: {n} lines" for path, n in counts.items() if n > MAX_LINES]
    assert over == [], f"modules over {MAX_LINES} lines:" + _listing(over)


def _protocol_names() -> set[str]:
    tree = ast.parse((ROOT / "generated" / "protocols.py").read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for base in node.bases
        if ast.unparse(base).split("[")[0] in {"Protocol", "typing.Protocol"}
    }


def test_handler_classes_are_not_named_like_their_protocols() -> None:
    protocols = _protocol_names()
    assert protocols, "no Protocol classes found in generated/protocols.py"
    clashes = []
    for path in sorted((ROOT / HANDLERS).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name in protocols:
                clashes.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.name}")
    assert clashes == [], "classes named like a Protocol in generated/protocols.py:" + _listing(
        clashes
    )
