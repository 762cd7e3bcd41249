"""Where the repository's own folders are, for code that reads them at run time."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = ROOT / "contracts"
# The import root for `urdf_path`: URDFs a request may name, resolved on each host.
EXAMPLES_DIR = ROOT / "examples"
