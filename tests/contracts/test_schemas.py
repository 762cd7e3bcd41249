"""Contract tests: JSON Schemas in contracts/schemas, operations in contracts/openapi.yaml.

These check the rules of docs/contracts.md directly on the contract files, offline, with a plain
2020-12 validator, so a contract that breaks a rule fails here before codegen sees it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import validate as validate_openapi
from pydantic import StringConstraints, TypeAdapter
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from codegen.rules import FORBIDDEN_KEYWORDS

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
SCHEMA_DIR = CONTRACTS / "schemas"
OPENAPI_PATH = CONTRACTS / "openapi.yaml"
SEED_FIXTURES = ROOT / "tests" / "fixtures" / "seed"

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# `binary` only beside `contentMediaType` on a multipart file part (the OpenAPI 3.0 spelling
# SDK generators such as openapi-python-client still need to send a file); see below.
# `int32`/`int64` only on integers, the one their bounds fit (codegen/rules.py).
ALLOWED_FORMATS = {"date-time", "uri", "email", "uuid", "binary", "int32", "int64"}
INTEGER_FORMATS = {"int32", "int64"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
REF_RE = re.compile(r"^([A-Z][A-Za-z0-9]*)\.schema\.json$")
OPENAPI_REF_RE = re.compile(r"^schemas/([A-Z][A-Za-z0-9]*)\.schema\.json$")
COMPONENT_REF_RE = re.compile(r"^#/components/(headers|responses)/([A-Za-z][A-Za-z0-9-]*)$")
# Every answer of an operation the rate limit counts (all but the health checks) may carry
# these (docs/security.md); CORS adds the allowed origin to every answer.
RATE_LIMIT_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
CORS_HEADER = "Access-Control-Allow-Origin"
PUBLIC_OPERATIONS = {"getHealth", "getApiHealth"}
SHARED_RESPONSES = {
    "401": "Unauthorized",
    "403": "Forbidden",
    "429": "TooManyRequests",
    "500": "InternalError",
}
CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")

# The API document's operations: (method, path) -> (operationId, tag, success statuses).
EXPECTED_OPERATIONS: dict[tuple[str, str], tuple[str, str, set[str]]] = {
    ("get", "/v1/health"): ("getHealth", "health", {"200"}),
    ("post", "/v1/runs"): ("createRun", "runs", {"201", "202"}),
    ("get", "/v1/runs"): ("listRuns", "runs", {"200"}),
    ("get", "/v1/runs/{run_id}"): ("getRun", "runs", {"200"}),
    ("get", "/v1/runs/{run_id}/metrics"): ("getRunMetrics", "runs", {"200"}),
    ("get", "/v1/runs/{run_id}/replay"): ("getRunReplay", "runs", {"200"}),
    ("post", "/v1/runs/{run_id}/cancel"): ("cancelRun", "runs", {"200"}),
    ("get", "/v1/scenarios"): ("listScenarios", "scenarios", {"200"}),
    ("get", "/api/health"): ("getApiHealth", "health", {"200"}),
    ("get", "/api/runs"): ("listApiRuns", "dashboard", {"200"}),
    ("post", "/api/projects"): ("createProject", "projects", {"201"}),
    ("get", "/api/projects"): ("listProjects", "projects", {"200"}),
    ("get", "/api/projects/{project_id}"): ("getProject", "projects", {"200"}),
    ("patch", "/api/projects/{project_id}"): ("updateProject", "projects", {"200"}),
    ("post", "/api/assets/import"): ("importAsset", "assets", {"201"}),
    ("post", "/api/assets/import-path"): ("importAssetFromPath", "assets", {"201"}),
    ("get", "/api/assets"): ("listAssets", "assets", {"200"}),
    ("get", "/api/assets/{asset_id}"): ("getAsset", "assets", {"200"}),
    ("get", "/api/assets/{asset_id}/package"): ("getAssetPackage", "assets", {"200"}),
    ("get", "/api/assets/{asset_id}/preview.png"): ("getAssetPreview", "assets", {"200"}),
    ("post", "/api/design/segment"): ("segmentAsset", "design", {"201"}),
    ("get", "/api/design/segmentations/{segmentation_id}"): ("getSegmentation", "design", {"200"}),
    ("post", "/api/design/linkage"): ("buildLinkage", "design", {"201"}),
    ("get", "/api/design/linkages/{linkage_id}"): ("getLinkage", "design", {"200"}),
    ("post", "/api/sim/run"): ("startSimRun", "sim", {"200", "202"}),
    ("get", "/api/sim/{job_id}/status"): ("getSimJobStatus", "sim", {"200"}),
    ("get", "/api/sim/{job_id}/metrics"): ("getSimJobMetrics", "sim", {"200"}),
    ("get", "/api/sim/{job_id}/report"): ("getSimJobReport", "sim", {"200"}),
    ("post", "/api/sim/{job_id}/cancel"): ("cancelSimJob", "sim", {"200"}),
    ("get", "/api/sim/step"): ("getSimStep", "sim", {"200"}),
    ("get", "/api/sim/metrics/{run_id}"): ("getSimRunMetrics", "sim", {"200"}),
    ("get", "/api/sim/report/{run_id}"): ("getSimRunReport", "sim", {"200"}),
    ("get", "/api/benchmarks/latest"): ("getLatestBenchmark", "benchmarks", {"200"}),
    ("post", "/api/ai/plan"): ("createPlan", "ai", {"201"}),
    ("get", "/api/ai/plans/{plan_id}"): ("getPlan", "ai", {"200"}),
    ("get", "/api/reality-profiles"): ("listRealityProfiles", "profiles", {"200"}),
    ("post", "/api/sim/batch"): ("createBatch", "batch", {"201", "202"}),
    ("get", "/api/sim/batch/{batch_id}"): ("getBatch", "batch", {"200"}),
    ("get", "/api/sim/batch/{batch_id}/evaluate"): ("evaluateBatch", "batch", {"200"}),
    ("post", "/api/sim/compare"): ("compareRuns", "batch", {"200"}),
}
CREATE_OPERATIONS = {
    "createRun",
    "startSimRun",
    "createBatch",
    "createProject",
    "importAsset",
    "segmentAsset",
    "buildLinkage",
    "createPlan",
}
TAGS = {
    "health",
    "runs",
    "scenarios",
    "dashboard",
    "projects",
    "assets",
    "design",
    "sim",
    "benchmarks",
    "ai",
    "profiles",
    "batch",
}
WEBHOOK_TAGS = {"webhooks"}  # requests QERS sends, under `webhooks` in openapi.yaml
REQUIRED_TYPES = {
    "Health",
    "RunCreate",
    "RunConfig",
    "RunOptions",
    "Run",
    "RunStatus",
    "FailureCode",
    "RunList",
    "RunMetrics",
    "ReplayBundle",
    "ReplayStep",
    "Scenario",
    "ScenarioList",
    "RealityProfile",
    "RealityProfileList",
    "Project",
    "ProjectCreate",
    "ProjectList",
    "Asset",
    "AssetList",
    "AssetImportRequest",
    "SegmentRequest",
    "Segmentation",
    "LinkageRequest",
    "LinkageResult",
    "SimRunRequest",
    "Job",
    "JobStatus",
    "Report",
    "BenchmarkReport",
    "PlanRequest",
    "Plan",
    "BatchRequest",
    "BatchReport",
    "BatchEvaluation",
    "CompareRequest",
    "CompareResult",
    "WebhookEvent",
    "SimStep",
    "Problem",
    "FieldError",
    "RunId",
    "ProjectId",
    "AssetId",
    "BatchId",
}


# --------------------------------------------------------------------------- loading
def _load_schemas() -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(SCHEMA_DIR.glob("*.schema.json"))
    }


SCHEMAS = _load_schemas()
OPENAPI: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
REGISTRY: Registry = Registry().with_resources(
    (f"{name}.schema.json", Resource.from_contents(schema, default_specification=DRAFT202012))
    for name, schema in SCHEMAS.items()
)


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        SCHEMAS[name], registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validator_for(subschema: dict[str, Any]) -> Draft202012Validator:
    """Validator for a fragment whose refs are relative to the schema folder."""
    return Draft202012Validator(
        {"$id": "fragment.schema.json", **subschema},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def is_valid(name: str, instance: Any) -> bool:
    return validator(name).is_valid(instance)


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (pointer, subschema) for every subschema of a schema (not into examples/defaults)."""
    if not isinstance(node, dict):
        return
    yield pointer, node
    for key in ("properties",):
        for prop, sub in node.get(key, {}).items():
            yield from walk(sub, f"{pointer}/{key}/{prop}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from walk(node[key], f"{pointer}/{key}")
    for key in ("anyOf", "prefixItems"):
        for i, sub in enumerate(node.get(key, [])):
            yield from walk(sub, f"{pointer}/{key}/{i}")


def types_of(node: dict[str, Any]) -> set[str]:
    t = node.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def all_keys(
    node: Any, skip: frozenset[str] = frozenset({"examples", "default", "example"})
) -> Iterator[str]:
    """Every mapping key in a document, not descending into example values."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key not in skip:
                yield from all_keys(value, skip)
    elif isinstance(node, list):
        for item in node:
            yield from all_keys(item, skip)


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in OPENAPI["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def openapi_ref_name(ref: str) -> str:
    m = OPENAPI_REF_RE.match(ref)
    assert m, f"openapi.yaml refs must look like schemas/<Name>.schema.json, got {ref!r}"
    return m.group(1)


def referenced_schemas(name: str, seen: set[str] | None = None) -> set[str]:
    """Transitive closure of schema names reachable from `name`."""
    seen = set() if seen is None else seen
    if name in seen:
        return seen
    seen.add(name)
    for _, node in walk(SCHEMAS[name]):
        if "$ref" in node:
            referenced_schemas(REF_RE.match(node["$ref"]).group(1), seen)  # type: ignore[union-attr]
    return seen


def request_body_schemas() -> set[str]:
    names = set()
    for _, _, op in operations():
        if "requestBody" in op:
            (media,) = op["requestBody"]["content"].values()
            names.add(openapi_ref_name(media["schema"]["$ref"]))
    return names


def success_response_schemas() -> set[str]:
    names = set()
    for _, _, op in operations():
        for code, resp in op["responses"].items():
            if code.startswith("2"):
                names.add(openapi_ref_name(resp["content"]["application/json"]["schema"]["$ref"]))
    return names


def is_request_object(schema: dict[str, Any]) -> bool:
    return schema.get("additionalProperties") is False


# --------------------------------------------------------------------------- schema files
def test_required_types_exist() -> None:
    missing = REQUIRED_TYPES - SCHEMAS.keys()
    assert not missing, f"missing contract types: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema.get("$schema") == DIALECT
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_id_title_and_filename_agree(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema["$id"] == f"{name}.schema.json"
    assert schema["title"] == name
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), "schema names are PascalCase"


def test_titles_unique() -> None:
    titles = [s["title"] for s in SCHEMAS.values()]
    assert len(titles) == len(set(titles))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_description_and_examples(name: str) -> None:
    schema = SCHEMAS[name]
    assert isinstance(schema.get("description"), str)
    assert len(schema["description"]) >= 10
    examples = schema.get("examples")
    assert isinstance(examples, list), f"{name} needs examples"
    assert examples, f"{name} needs at least one example"
    v = validator(name)
    for i, example in enumerate(examples):
        errors = [f"{e.json_path}: {e.message}" for e in v.iter_errors(example)]
        assert not errors, f"{name} example {i} is invalid: {errors}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_refs_resolve_to_sibling_files(name: str) -> None:
    for pointer, node in walk(SCHEMAS[name]):
        if "$ref" in node:
            m = REF_RE.match(node["$ref"])
            assert m, f"{name}{pointer}: refs must be relative file names, got {node['$ref']!r}"
            assert m.group(1) in SCHEMAS, f"{name}{pointer}: unknown schema {node['$ref']}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_no_forbidden_keywords(name: str) -> None:
    # Only keywords of subschemas count: a property may legitimately be *named* e.g. "not".
    keywords: set[str] = set()
    for _, node in walk(SCHEMAS[name]):
        keywords |= set(node) & FORBIDDEN_KEYWORDS
    assert not keywords, f"{name} uses forbidden keywords {sorted(keywords)}"
    for pointer, node in walk(SCHEMAS[name]):
        if "const" in node:
            assert not isinstance(node["const"], (dict, list)), (
                f"{name}{pointer}: const must be a scalar"
            )


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_formats_are_portable(name: str) -> None:
    for pointer, node in walk(SCHEMAS[name]):
        if "format" in node:
            assert node["format"] in ALLOWED_FORMATS, f"{name}{pointer}: format {node['format']!r}"
        if node.get("format") == "binary":
            assert node.get("type") == "string", f"{name}{pointer}"
            assert "contentMediaType" in node, f"{name}{pointer}: binary without contentMediaType"
        is_integer = "integer" in types_of(node)
        assert is_integer == (node.get("format") in INTEGER_FORMATS), f"{name}{pointer}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_bounds_everywhere(name: str) -> None:
    problems = []
    for pointer, node in walk(SCHEMAS[name]):
        types = types_of(node)
        where = f"{name}{pointer or '/'}"
        if "enum" in node or "const" in node:
            continue
        # uuid strings are bounded by their grammar (pydantic drops maxLength there); a
        # date-time's maxLength is published by generated/types.py's ContractDatetime
        if "string" in types and "maxLength" not in node and node.get("format") != "uuid":
            problems.append(f"{where}: string without maxLength")
        if types & {"number", "integer"}:
            if "minimum" not in node and "exclusiveMinimum" not in node:
                problems.append(f"{where}: number without minimum")
            if "maximum" not in node and "exclusiveMaximum" not in node:
                problems.append(f"{where}: number without maximum")
        if "array" in types and "maxItems" not in node:
            problems.append(f"{where}: array without maxItems")
        is_map = "object" in types and isinstance(node.get("additionalProperties"), dict)
        if is_map and "maxProperties" not in node:
            problems.append(f"{where}: map without maxProperties")
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_object_and_constrained_item_is_named(name: str) -> None:
    """Codegen refuses anything that would become an unnamed model."""
    problems = []
    for pointer, node in walk(SCHEMAS[name]):
        if not pointer:
            continue
        where = f"{name}{pointer}"
        if "properties" in node:
            problems.append(f"{where}: inline object; give it its own schema file")
        if "enum" in node:
            problems.append(f"{where}: inline enum; give it its own schema file")
        if {"object", "array"} & types_of(node) and "null" in types_of(node):
            # datamodel-codegen turns a nullable inline map/array into `dict[str, Any] | None`
            problems.append(f"{where}: nullable inline map/array loses its item type; use empty")
        tokens = pointer.split("/")
        if tokens[-1] in ("items", "additionalProperties") and tokens[-2] != "properties":
            allowed_inline = set(node) <= {"type"} and types_of(node) <= {
                "string",
                "number",
                "integer",
                "boolean",
            }
            if "$ref" not in node and not allowed_inline:
                problems.append(f"{where}: array item / map value must be a $ref to a named schema")
        in_any_of = len(tokens) >= 3 and tokens[-2] == "anyOf" and tokens[-3] != "properties"
        bare = ("$ref" in node and set(node) == {"$ref"}) or node == {"type": "null"}
        if in_any_of and not bare:
            problems.append(f"{where}: anyOf members are a bare $ref or {{'type': 'null'}}")
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_patterns_compile_in_python_and_pydantic(name: str) -> None:
    for pointer, node in walk(SCHEMAS[name]):
        if "pattern" in node:
            pattern = node["pattern"]
            re.compile(pattern)
            # pydantic-core uses the Rust regex crate: no look-around, no backreferences.
            TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
            assert pattern.startswith("^"), f"{name}{pointer}: anchor patterns"
            assert pattern.endswith("$"), f"{name}{pointer}: anchor patterns"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_defaults_are_valid(name: str) -> None:
    for pointer, node in walk(SCHEMAS[name]):
        if "default" in node:
            fragment = {k: v for k, v in node.items() if k != "default"}
            errors = [e.message for e in validator_for(fragment).iter_errors(node["default"])]
            assert not errors, f"{name}{pointer}: default {node['default']!r} invalid: {errors}"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_response_objects_require_every_property(name: str) -> None:
    schema = SCHEMAS[name]
    if "properties" not in schema or is_request_object(schema) or name == "Problem":
        return
    assert set(schema.get("required", [])) == set(schema["properties"]), (
        f"{name}: response objects list every property in required (nullable when unknown)"
    )


def test_problem_is_open_and_complete() -> None:
    problem = SCHEMAS["Problem"]
    assert "additionalProperties" not in problem, "Problem allows extension members"
    assert set(problem["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "errors",
    }
    assert is_valid("Problem", {**problem["examples"][0], "valid_values": ["default"]})


def test_every_schema_is_used() -> None:
    used: set[str] = set()
    for node in _iter_openapi_refs(OPENAPI):
        if not COMPONENT_REF_RE.match(node):
            used |= referenced_schemas(openapi_ref_name(node))
    used |= referenced_schemas("WebhookEvent")  # sent to receivers, not served
    unused = set(SCHEMAS) - used
    assert not unused, f"schemas referenced by nothing: {sorted(unused)}"


# --------------------------------------------------------------------------- request bodies
def test_request_bodies_are_closed_all_the_way_down() -> None:
    for body in request_body_schemas():
        for name in referenced_schemas(body):
            schema = SCHEMAS[name]
            if "object" in types_of(schema) and "properties" in schema:
                assert schema.get("additionalProperties") is False, (
                    f"{name} (in {body}) must be closed"
                )


@pytest.mark.parametrize("name", sorted(n for n, s in SCHEMAS.items() if is_request_object(s)))
def test_request_optional_fields_do_not_accept_null(name: str) -> None:
    schema = SCHEMAS[name]
    required = set(schema.get("required", []))
    for prop, sub in schema["properties"].items():
        if prop in required:
            continue
        nullable = "null" in types_of(sub) or {"type": "null"} in sub.get("anyOf", [])
        assert not nullable, f"{name}.{prop}: optional request fields are absent, not null"
        example = copy.deepcopy(schema["examples"][0])
        example[prop] = None
        assert not is_valid(name, example), f"{name}.{prop} must reject null"


def test_seed_batch_body_validates_exactly() -> None:
    body = json.loads((SEED_FIXTURES / "batch_request.json").read_text(encoding="utf-8"))
    assert body == {
        "urdf_path": "examples/simple_robot.urdf",
        "profiles": ["default", "slippery_warehouse", "pseudo_reality_A"],
        "steps": 50,
        "dt": 0.01,
        "seed": 42,
        "dr_episodes_per_profile": 3,
    }
    validator("BatchRequest").validate(body)


def test_seed_compare_body_validates_exactly() -> None:
    body = json.loads((SEED_FIXTURES / "compare_request.json").read_text(encoding="utf-8"))
    assert body == {"run_ids": ["run_id_1", "run_id_2"], "metric_key": "avg_step_time_ms"}
    validator("CompareRequest").validate(body)


# --------------------------------------------------------------------------- invalid payloads
INVALID = [
    ("RunId", "../x"),
    ("RunId", "run_"),
    ("RunId", "run_ABC"),
    ("RunId", "run_a/b"),
    ("RunId", "run_a.b"),
    ("RunId", "metrics"),
    ("RunId", "run_" + "a" * 61),
    ("BatchId", "evaluate"),
    ("BatchId", "run_abc"),
    ("ProjectId", "prj_"),
    ("UrdfPath", "/etc/robot.urdf"),
    ("UrdfPath", "../robot.urdf"),
    ("UrdfPath", "examples/../../robot.urdf"),
    ("UrdfPath", "examples/./robot.urdf"),
    ("UrdfPath", "examples//robot.urdf"),
    ("UrdfPath", "examples/.hidden.urdf"),
    ("UrdfPath", "examples/robot.xml"),
    ("UrdfPath", "C:\\robot.urdf"),
    ("RelativePath", "meshes/../../etc/passwd"),
    ("RelativePath", "/abs/path.obj"),
    ("ProfileName", "1default"),
    ("ProfileName", "default profile"),
    ("ScenarioName", "ArmReach"),
    ("Tag", ""),
    ("Tag", "a" * 65),
    ("DisplayName", "bad\nname"),
    ("Seed", -1),
    ("Seed", 2**32),
    ("Steps", 0),
    ("Steps", 1_000_001),
    ("WebhookUrl", "ftp://example.com/x"),
    ("WebhookUrl", "https://user:secret@example.com/x"),
    ("WebhookUrl", "https://exa mple.com/x"),
    ("Problem", {**SCHEMAS["Problem"]["examples"][0], "type": "not a uri"}),
    ("Run", {**SCHEMAS["Run"]["examples"][0], "created_at": "yesterday"}),
    ("WebhookSecret", "not-a-secret"),
    ("RunStatus", "DONE"),
    ("FailureCode", "SEGFAULT"),
    ("WebhookEventType", "run.started"),
    ("Cursor", "a b"),
    ("Sha256", "ABC"),
    ("FieldError", {"location": "body", "pointer": "no-leading-slash", "reason": "x"}),
    ("BatchRequest", {"profiles": ["default"], "extra": 1}),
    ("BatchRequest", {"profiles": []}),
    ("BatchRequest", {"profiles": ["default"], "dt": 0}),
    ("BatchRequest", {"profiles": ["default"], "dt": 0.2}),
    ("BatchRequest", {"profiles": ["default"], "steps": 0}),
    ("BatchRequest", {"profiles": ["default"], "seed": None}),
    ("BatchRequest", {"profiles": ["default"], "dr_episodes_per_profile": 0}),
    ("BatchRequest", {"profiles": ["default"], "urdf_path": "/abs.urdf"}),
    ("BatchRequest", {"urdf_path": "examples/simple_robot.urdf"}),
    ("CompareRequest", {"run_ids": ["run_id_1"], "metric_key": "avg_step_time_ms"}),
    ("CompareRequest", {"run_ids": ["run_id_1", "run_id_2"], "metric_key": "Bad-Key"}),
    ("CompareRequest", {"run_ids": ["run_id_1", "run_id_2"]}),
    ("RunCreate", {}),
    ("RunCreate", {"scenario": "arm_reach", "options": {"seed": None}}),
    ("RunCreate", {"scenario": "arm_reach", "options": {"unknown": True}}),
    ("RunCreate", {"scenario": "arm_reach", "options": {"dt": 0}}),
    ("RunCreate", {"scenario": "arm_reach", "options": {"max_duration_s": 0}}),
    ("RunCreate", {"scenario": "arm_reach", "config": {"params": {"x": "1"}}}),
    ("RunCreate", {"scenario": "arm_reach", "options": {"tags": ["ok"] * 33}}),
    ("SimRunRequest", {"steps": 1.5}),
    ("ProjectCreate", {"name": ""}),
    ("AssetImportRequest", {"name": "x", "format": "urdf", "files": []}),
    ("SegmentRequest", {"asset_id": "ast_x", "method": "links", "max_parts": 0}),
    ("SegmentRequest", {"asset_id": "ast_x"}),
    ("SegmentRequest", {"asset_id": "ast_x", "method": "voxels"}),
    ("SegmentRequest", {"asset_id": "ast_x", "method": "links", "density_kg_m3": 0}),
    ("SegmentRequest", {"asset_id": "ast_x", "method": "links", "decomposition": {"x": 1}}),
    ("LinkageRequest", {"segmentation_id": "seg_x", "robot_name": "r", "root": "a"}),
    (
        "LinkageRequest",
        {
            "segmentation_id": "seg_x",
            "robot_name": "r",
            "root": "a",
            "joints": [{"name": "j", "type": "ball", "parent": "a", "child": "b"}],
        },
    ),
    ("LinkOverride", {"part": "a", "inertia_kg_m2": [[1.0, 0.0], [0.0, 1.0]]}),
    ("JointLimit", {"lower": 0.0, "upper": 1.0, "effort": -1.0, "velocity": 1.0}),
    ("VerifyOptions", {"steps": 10001}),
    ("PlanRequest", {"task": ""}),
    ("PlanRequest", {"task": "x", "budget": {"max_runs": 0}}),
    ("PlanRequest", {"task": "x", "max_steps": 3}),
    ("PlanBudget", {"max_steps_total": 10000001}),
    ("Vector3", [0.0, 0.0]),
    ("Quaternion", [0.0, 0.0, 0.0]),
    ("MetricValue", float("inf")),
]


@pytest.mark.parametrize(
    ("name", "instance"), INVALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(INVALID)]
)
def test_invalid_payloads_are_rejected(name: str, instance: Any) -> None:
    with pytest.raises(ValidationError):
        validator(name).validate(instance)


VALID = [
    ("RunId", "run_9f2c4e1ab37d4c0e8a61b2d3"),
    ("RunId", "run_id_1"),
    ("ProfileName", "pseudo_reality_A"),
    ("UrdfPath", "examples/simple_robot.urdf"),
    ("WebhookUrl", "http://127.0.0.1:8081/hook"),
    ("WebhookUrl", "https://ci.example.com/hooks/qers?team=a#x"),
    ("UrdfPath", "assets/ast_0c8e5f2a91b74d3e86a4f7b2/robot.v2.urdf"),
    ("RunCreate", {"scenario": "drop_test"}),
    ("SimRunRequest", {}),
    ("BatchRequest", {"profiles": ["default"]}),
    (
        "Problem",
        {
            "type": "about:blank",
            "title": "Not found",
            "status": 404,
            "detail": "",
            "instance": "/x",
            "request_id": "r1",
            "errors": [],
            "extension": {"anything": True},
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "instance"), VALID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID)]
)
def test_valid_payloads_are_accepted(name: str, instance: Any) -> None:
    validator(name).validate(instance)


# --------------------------------------------------------------------------- openapi
def _iter_openapi_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _iter_openapi_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _iter_openapi_refs(item)


def bundle() -> dict[str, Any]:
    """openapi.yaml with every schema inlined under components.schemas and refs rewritten."""

    def rewrite(node: Any, pattern: re.Pattern[str]) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#"):
                    out[key] = value  # a shared response or header, already in the document
                elif key == "$ref" and isinstance(value, str):
                    out[key] = f"#/components/schemas/{pattern.match(value).group(1)}"  # type: ignore[union-attr]
                elif key in ("examples", "example"):
                    out[key] = value
                else:
                    out[key] = rewrite(value, pattern)
            return out
        if isinstance(node, list):
            return [rewrite(item, pattern) for item in node]
        return node

    doc = rewrite(copy.deepcopy(OPENAPI), OPENAPI_REF_RE)
    components = doc.setdefault("components", {})
    components["schemas"] = {
        name: rewrite({k: v for k, v in schema.items() if k not in ("$schema", "$id")}, REF_RE)
        for name, schema in SCHEMAS.items()
    }
    return doc


def test_openapi_document_is_valid() -> None:
    assert OPENAPI["openapi"] == "3.1.0"
    assert OPENAPI["info"]["title"] == "QERS"
    assert OPENAPI["info"]["version"] == "1.0.0"
    (server,) = OPENAPI["servers"]
    assert server["url"] == "/"
    assert server["x-internal"] is False
    validate_openapi(bundle())
    # and as written, resolving schemas/<Name>.schema.json relative to the file
    validate_openapi(OPENAPI, base_uri=OPENAPI_PATH.as_uri())


def test_openapi_refs_point_to_schema_files() -> None:
    for ref in _iter_openapi_refs(OPENAPI):
        shared = COMPONENT_REF_RE.match(ref)
        if shared:
            assert shared.group(2) in OPENAPI["components"][shared.group(1)], ref
        else:
            assert openapi_ref_name(ref) in SCHEMAS, ref


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or the shared response or header its `$ref` names."""
    shared = COMPONENT_REF_RE.match(node.get("$ref", ""))
    if shared is None:
        return node
    found: dict[str, Any] = OPENAPI["components"][shared.group(1)][shared.group(2)]
    return found


def test_openapi_has_no_forbidden_keywords_or_inline_objects() -> None:
    for path, method, op in operations():
        for key in all_keys(op):
            assert key not in FORBIDDEN_KEYWORDS, f"{method} {path}: {key}"
        for param in op.get("parameters", []):
            schema = param["schema"]
            if "$ref" in schema:
                continue
            assert types_of(schema) <= {"string", "integer", "number", "boolean"}, (
                f"{path} {param['name']}"
            )
            if types_of(schema) & {"integer", "number"}:
                assert "minimum" in schema, f"{path} {param['name']}"
                assert "maximum" in schema, f"{path} {param['name']}"
            if "string" in types_of(schema):
                assert "maxLength" in schema, f"{path} {param['name']}"


def test_exactly_the_expected_operations() -> None:
    found = {(method, path): op for path, method, op in operations()}
    assert len(found) == 40
    assert set(found) == set(EXPECTED_OPERATIONS)
    for key, (operation_id, tag, successes) in EXPECTED_OPERATIONS.items():
        op = found[key]
        assert op["operationId"] == operation_id, key
        assert op["tags"] == [tag], key
        assert {c for c in op["responses"] if c.startswith("2")} == successes, key


def test_operation_ids_unique_camel_case_with_one_known_tag() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    declared = {t["name"] for t in OPENAPI["tags"]}
    assert declared == TAGS | WEBHOOK_TAGS
    assert all(t.get("description") for t in OPENAPI["tags"])
    for path, method, op in operations():
        assert CAMEL_CASE.match(op["operationId"]), op["operationId"]
        assert len(op["tags"]) == 1, f"{method} {path}"
        assert op["tags"][0] in TAGS, f"{method} {path}"
        assert op.get("summary"), f"{method} {path}"
        assert op.get("description"), f"{method} {path}"


def test_responses_json_success_and_problem_errors() -> None:
    for path, method, op in operations():
        responses = op["responses"]
        assert "default" in responses, f"{method} {path}"
        for code, ref_or_resp in responses.items():
            resp = resolved(ref_or_resp)
            assert resp.get("description"), f"{method} {path} {code}"
            content = resp["content"]
            if code.startswith("2") and list(content) in (["application/zip"], ["image/png"]):
                # A download only (an asset's package or picture): bytes, no JSON form.
                (item,) = content.values()
                assert item["schema"] == {
                    "type": "string",
                    "contentMediaType": next(iter(content)),
                    "maxLength": item["schema"]["maxLength"],
                }
            elif code.startswith("2"):
                # JSON first; binary alternatives (the replay's npz) are plain strings.
                assert next(iter(content)) == "application/json", f"{method} {path} {code}"
                openapi_ref_name(content["application/json"]["schema"]["$ref"])
                for media_type, item in list(content.items())[1:]:
                    assert media_type == "application/octet-stream", f"{method} {path} {code}"
                    assert item["schema"]["type"] == "string", f"{method} {path} {code}"
            else:
                assert code == "default" or code[0] in "45", f"{method} {path} {code}"
                assert list(content) == ["application/problem+json"], f"{method} {path} {code}"
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "schemas/Problem.schema.json"
                }


def test_documented_error_codes() -> None:
    for path, method, op in operations():
        codes = set(op["responses"])
        where = f"{method} {path}"
        if "requestBody" in op:
            assert op["requestBody"]["required"] is True
            # JSON, or a multipart upload (importAsset) with a file part.
            assert list(op["requestBody"]["content"]) in (
                ["application/json"],
                ["multipart/form-data"],
            ), where
            assert {"400", "413", "415", "422"} <= codes, where
        if op.get("parameters"):
            assert "422" in codes, where
        if "{" in path:
            assert "404" in codes, where
        if op["operationId"] in {"cancelRun", "cancelSimJob"}:
            assert {"200", "404", "409"} <= codes, where
    assert {"200", "404", "422"} <= set(OPENAPI["paths"]["/api/sim/compare"]["post"]["responses"])
    assert "404" in OPENAPI["paths"]["/api/benchmarks/latest"]["get"]["responses"]


def test_parameters_are_typed_and_path_params_declared() -> None:
    for path, method, op in operations():
        params = op.get("parameters", [])
        names = [(p["name"], p["in"]) for p in params]
        assert len(names) == len(set(names)), f"{method} {path}"
        template_vars = set(re.findall(r"{([a-z_]+)}", path))
        path_params = {p["name"] for p in params if p["in"] == "path"}
        assert template_vars == path_params, f"{method} {path}"
        for p in params:
            assert p.get("description"), f"{method} {path} {p['name']}"
            assert "schema" in p
            if p["in"] == "path":
                assert p["required"] is True
                assert "$ref" in p["schema"], "path parameters use a patterned id schema"


def test_create_operations_take_idempotency_key_and_link_to_readers() -> None:
    by_id = {op["operationId"]: op for _, _, op in operations()}
    for operation_id in CREATE_OPERATIONS:
        op = by_id[operation_id]
        headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], operation_id
        header = headers[0]
        assert header["required"] is False
        assert header["schema"]["maxLength"] == 255
        TypeAdapter(Annotated[str, StringConstraints(pattern=header["schema"]["pattern"])])
        successes = [r for c, r in op["responses"].items() if c.startswith("2")]
        for resp in successes:
            assert resp.get("links"), f"{operation_id}: success responses link to readers"


def test_links_target_real_operations_and_parameters() -> None:
    by_id = {op["operationId"]: op for _, _, op in operations()}
    for path, method, op in operations():
        for code, resp in op["responses"].items():
            for name, link in resp.get("links", {}).items():
                where = f"{method} {path} {code} {name}"
                assert link["operationId"] in by_id, where
                target = by_id[link["operationId"]]
                target_params = {p["name"] for p in target.get("parameters", [])}
                assert set(link.get("parameters", {})) <= target_params, where
                for expr in link.get("parameters", {}).values():
                    assert isinstance(expr, str), where  # OpenAPI 3.1: link parameters are strings
                    if expr.startswith("$"):
                        assert expr.startswith("$response.body#/"), where
                        field = expr.split("#/", 1)[1]
                        schema = SCHEMAS[
                            openapi_ref_name(resp["content"]["application/json"]["schema"]["$ref"])
                        ]
                        assert field in schema["properties"], where
                if "requestBody" in link:
                    assert "requestBody" in target, where
    expected = {
        "createRun": {"getRun", "getRunMetrics", "getRunReplay", "cancelRun"},
        "startSimRun": {"getSimJobStatus", "getSimJobMetrics", "getSimJobReport", "cancelSimJob"},
        "createBatch": {"getBatch", "evaluateBatch"},
    }
    for source, targets in expected.items():
        for code, resp in by_id[source]["responses"].items():
            if code.startswith("2"):
                assert targets <= {lk["operationId"] for lk in resp["links"].values()}, (
                    source,
                    code,
                )


def test_location_header_on_asynchronous_creates() -> None:
    for path, method in [("/v1/runs", "post"), ("/api/sim/batch", "post")]:
        for code in ("201", "202"):
            assert "Location" in OPENAPI["paths"][path][method]["responses"][code]["headers"]
    assert "Location" in OPENAPI["paths"]["/api/sim/run"]["post"]["responses"]["202"]["headers"]


def test_security_schemes_declared_and_every_operation_names_them() -> None:
    schemes = OPENAPI["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        **schemes["ApiKeyAuth"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["BearerAuth"] == {
        **schemes["BearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert "security" not in OPENAPI
    either = [{"ApiKeyAuth": []}, {"BearerAuth": []}]
    for _, _, op in operations():
        public = op["operationId"] in ("getHealth", "getApiHealth")
        assert op["security"] == ([] if public else either), op["operationId"]


def _param_pattern(op: dict[str, Any], name: str) -> re.Pattern[str]:
    param = next(p for p in op["parameters"] if p["name"] == name)
    return re.compile(SCHEMAS[openapi_ref_name(param["schema"]["$ref"])]["pattern"])


def test_overlapping_paths_route_unambiguously() -> None:
    """Where one template has a parameter and another a literal in the same position, the literal
    never matches the parameter's pattern, so each URL reaches exactly one operation."""
    templates = {
        path: next(iter(op for m, op in item.items() if m in HTTP_METHODS))
        for path, item in OPENAPI["paths"].items()
    }
    checked = 0
    for a, op_a in templates.items():
        seg_a = a.strip("/").split("/")
        for b in templates:
            seg_b = b.strip("/").split("/")
            if a == b or len(seg_a) != len(seg_b):
                continue
            for x, y in zip(seg_a, seg_b, strict=True):
                if x.startswith("{") and not y.startswith("{"):
                    pattern = _param_pattern(op_a, x.strip("{}"))
                    assert not pattern.fullmatch(y), f"{a} would capture literal {y!r} of {b}"
                    checked += 1
    assert checked >= 6  # e.g. /api/sim/{job_id}/metrics vs /api/sim/metrics/{run_id}


def test_webhook_event_is_published_as_a_webhook() -> None:
    webhook = OPENAPI["webhooks"]["runEvent"]["post"]
    assert webhook["tags"] == ["webhooks"]
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "schemas/WebhookEvent.schema.json"}


def test_counted_operations_document_rate_limits_and_shared_errors() -> None:
    """Every operation but the health checks: 401, 403, 429 and 500 are the shared responses,
    and every 2xx, 4xx and 503 answer names the RateLimit-* and CORS headers (docs/security.md)."""
    for path, method, op in operations():
        where = f"{method} {path}"
        responses = op["responses"]
        public = op["operationId"] in PUBLIC_OPERATIONS
        shared = {"500": "InternalError"} if public else SHARED_RESPONSES
        for code, name in shared.items():
            assert responses[code] == {"$ref": f"#/components/responses/{name}"}, (where, code)
        if public:
            assert "429" not in responses, where  # the health checks are never limited
            continue
        for code, response in responses.items():
            if code[0] in "24" or code == "503":
                headers = resolved(response).get("headers", {})
                for name in [*RATE_LIMIT_HEADERS, CORS_HEADER]:
                    assert headers.get(name) == {"$ref": f"#/components/headers/{name}"}, (
                        where,
                        code,
                        name,
                    )
    too_many = OPENAPI["components"]["responses"]["TooManyRequests"]
    assert resolved(too_many["headers"]["Retry-After"])["required"] is True


def test_create_operations_may_answer_503_with_retry_after() -> None:
    by_id = {op["operationId"]: op for _, _, op in operations()}
    for operation_id in sorted(CREATE_OPERATIONS):
        response = resolved(by_id[operation_id]["responses"]["503"])
        retry = resolved(response["headers"]["Retry-After"])
        assert retry["schema"]["minimum"] >= 1, operation_id
