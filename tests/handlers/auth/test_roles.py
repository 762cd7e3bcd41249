"""The role table names every operation of the contract, and docs/security.md shows it."""

import yaml

from handlers.auth.roles import MINIMUM_ROLE
from handlers.kit.paths import ROOT

CONTRACT = ROOT / "contracts" / "openapi.yaml"
SECURITY_DOC = ROOT / "docs" / "security.md"
PUBLIC_OPERATIONS = {"getHealth", "getApiHealth"}
EITHER = [{"ApiKeyAuth": []}, {"BearerAuth": []}]


def _operations() -> dict[str, tuple[str, str, dict]]:
    paths = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))["paths"]
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in paths.items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def role_table() -> str:
    """The markdown table docs/security.md carries, from MINIMUM_ROLE."""
    rows = ["| operationId | method and path | minimum role |", "|---|---|---|"]
    operations = _operations()
    for operation_id, role in MINIMUM_ROLE.items():
        method, path, _ = operations[operation_id]
        rows.append(
            f"| `{operation_id}` | `{method} {path}` | {role.label if role else 'public'} |"
        )
    return "\n".join(rows)


def test_every_operation_has_a_role_and_nothing_else() -> None:
    assert set(MINIMUM_ROLE) == set(_operations())


def test_every_operation_declares_its_security() -> None:
    for operation_id, (_, _, op) in _operations().items():
        public = MINIMUM_ROLE[operation_id] is None
        assert op.get("security") == ([] if public else EITHER), operation_id
    assert {op for op, role in MINIMUM_ROLE.items() if role is None} == PUBLIC_OPERATIONS


def test_reads_are_viewer_writes_are_above() -> None:
    for operation_id, (method, _, _) in _operations().items():
        role = MINIMUM_ROLE[operation_id]
        if role is not None:
            assert (role.label == "viewer") == (method == "GET"), operation_id


def test_security_doc_shows_the_table() -> None:
    assert role_table() in SECURITY_DOC.read_text(encoding="utf-8")
