"""`make lint-contract`: write the document the app serves at `/openapi.json` to a file.

    python -m tests.contract.published OUT.json

The app is built as `make serve` builds it (embedded backend, runs in a temporary folder),
so the linters read what a client downloads, not `contracts/openapi.yaml`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.contract.documents import build_app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.contract.published", description=__doc__)
    parser.add_argument("out", type=Path, help="where to write the JSON document")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qers-published-") as runs_dir:
        # The same object `/openapi.json` answers with (tests/contract checks that they agree).
        document = build_app(Path(runs_dir)).openapi()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
