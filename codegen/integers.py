"""JSON Schema integers in the models: `100.0` is an integer, `"100"` and `true` are not.

datamodel-codegen writes `StrictInt` (which refuses `"100"` and `true`, but also `100.0`).
This pass adds a before-validator that turns a whole float into an int. It goes last in
an `Annotated[StrictInt, Field(ge=..)]`, so Pydantic still applies and publishes the
bounds on the integer itself; a bare `StrictInt` becomes `ContractInt`, which carries it.
"""

from __future__ import annotations

import ast

TYPES_MODULE = '''"""Types the generated models share (see codegen/integers.py)."""

from typing import Annotated

from pydantic import BeforeValidator, StrictInt


def _whole_float_to_int(value: object) -> object:
    # JSON parsers hand `100.0` over as a float; JSON Schema counts it as an integer.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


WHOLE_FLOAT_AS_INT = BeforeValidator(_whole_float_to_int)
ContractInt = Annotated[StrictInt, WHOLE_FLOAT_AS_INT]
'''
_NAMES = ("ContractInt", "WHOLE_FLOAT_AS_INT")


class _Integers(ast.NodeTransformer):
    def __init__(self) -> None:
        self.used: set[str] = set()

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if (
            isinstance(node.value, ast.Name)
            and node.value.id == "Annotated"
            and isinstance(node.slice, ast.Tuple)
            and _mentions_strict_int(node.slice.elts[0])
        ):
            node.slice.elts.append(ast.Name("WHOLE_FLOAT_AS_INT", ast.Load()))
            self.used.add("WHOLE_FLOAT_AS_INT")
            node.slice.elts[1:-1] = [self.visit(e) for e in node.slice.elts[1:-1]]
            return node
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == "StrictInt":
            self.used.add("ContractInt")
            return ast.copy_location(ast.Name("ContractInt", node.ctx), node)
        return node


def contract_integers(source: str) -> str:
    """Rewrite one model module; unchanged when it has no integers."""
    if "StrictInt" not in source:
        return source
    tree = ast.parse(source)
    integers = _Integers()
    tree = integers.visit(tree)
    still_strict = any(isinstance(n, ast.Name) and n.id == "StrictInt" for n in ast.walk(tree))
    body: list[ast.stmt] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "pydantic":
            stmt.names = [a for a in stmt.names if a.name != "StrictInt" or still_strict]
            body.append(stmt)
            names = [ast.alias(n) for n in _NAMES if n in integers.used]
            body.append(ast.ImportFrom("generated.types", names, 0))
        else:
            body.append(stmt)
    tree.body = body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _mentions_strict_int(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "StrictInt" for n in ast.walk(node))
