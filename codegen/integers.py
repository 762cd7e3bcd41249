"""JSON Schema integers in the models: `100.0` is an integer, `"100"` and `true` are not.

datamodel-codegen writes `StrictInt` (which refuses `"100"` and `true`, but also `100.0`).
This pass adds a before-validator that turns a whole float into an int. It goes last in
an `Annotated[StrictInt, Field(ge=..)]`, so Pydantic still applies and publishes the
bounds on the integer itself; a bare `StrictInt` becomes `ContractInt`, which carries it.

It also publishes the integer's `format`, which pydantic drops: `INT32` when the `Field`
bounds fit a signed 32-bit integer, else `INT64`. The contract states the same format
(codegen/rules.py checks that it agrees with the bounds).
"""

from __future__ import annotations

import ast

_NAMES = ("ContractInt", "WHOLE_FLOAT_AS_INT", "INT32", "INT64")
INT32_RANGE = (-(2**31), 2**31 - 1)
_LOWER = {"ge": 0, "gt": 1}  # keyword -> what to add to reach the smallest allowed value
_UPPER = {"le": 0, "lt": -1}


def integer_format(minimum: int | float | None, maximum: int | float | None) -> str:
    """`int32` when every integer from `minimum` to `maximum` fits 32 bits, else `int64`."""
    low, high = INT32_RANGE
    fits = minimum is not None and maximum is not None and low <= minimum and maximum <= high
    return "int32" if fits else "int64"


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
            node.slice.elts[1:] = [self.visit(e) for e in node.slice.elts[1:]]
            node.slice.elts.append(ast.Name("WHOLE_FLOAT_AS_INT", ast.Load()))
            self.used.add("WHOLE_FLOAT_AS_INT")
            bounds = _bounds(node.slice.elts[1:])
            if bounds is not None:
                marker = integer_format(*bounds).upper()
                node.slice.elts.append(ast.Name(marker, ast.Load()))
                self.used.add(marker)
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


def _bounds(metadata: list[ast.expr]) -> tuple[int, int] | None:
    """The smallest and largest integer a `Field(ge=.., le=..)` among `metadata` allows."""
    low = high = None
    for item in metadata:
        if not (isinstance(item, ast.Call) and isinstance(item.func, ast.Name)):
            continue
        if item.func.id != "Field":
            continue
        for keyword in item.keywords:
            literal = isinstance(keyword.value, ast.Constant | ast.UnaryOp)
            number = ast.literal_eval(keyword.value) if literal else None
            if not isinstance(number, int | float):
                continue
            if keyword.arg in _LOWER:
                low = number + _LOWER[keyword.arg]
            elif keyword.arg in _UPPER:
                high = number + _UPPER[keyword.arg]
    return None if low is None or high is None else (int(low), int(high))
