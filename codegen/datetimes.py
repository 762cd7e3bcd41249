"""Date-times in the models publish the `maxLength` the contract states.

datamodel-codegen writes `AwareDatetime` and drops `maxLength` (pydantic takes none on a
datetime). This pass writes `ContractDatetime` instead: the same type, whose published
schema carries `maxLength: DATETIME_MAX_LENGTH`, the one length codegen/rules.py allows.
"""

from __future__ import annotations

import ast

_SOURCE = "AwareDatetime"
_TARGET = "ContractDatetime"


class _Datetimes(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == _SOURCE:
            return ast.copy_location(ast.Name(_TARGET, node.ctx), node)
        return node


def contract_datetimes(source: str) -> str:
    """Rewrite one model module; unchanged when it has no date-times."""
    if _SOURCE not in source:
        return source
    tree = _Datetimes().visit(ast.parse(source))
    body: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "pydantic":
            stmt.names = [a for a in stmt.names if a.name != _SOURCE]
            if stmt.names:
                body.append(stmt)
            body.append(ast.ImportFrom("generated.types", [ast.alias(_TARGET)], 0))
        else:
            body.append(stmt)
    tree.body = body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
