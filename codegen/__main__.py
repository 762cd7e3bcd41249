"""`python -m codegen generate|check`: compile contracts/ into generated/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen.errors import ContractError
from codegen.generate import compile_contracts, differences, write_output

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("command", choices=["generate", "check"])
    parser.add_argument("--contracts", type=Path, default=ROOT / "contracts")
    parser.add_argument("--out", type=Path, default=ROOT / "generated")
    parser.add_argument("--snapshot", type=Path, default=ROOT / "docs" / "openapi.json")
    args = parser.parse_args(argv)
    try:
        output = compile_contracts(args.contracts)
    except ContractError as exc:
        print(f"codegen: contract error: {exc}", file=sys.stderr)
        return 2
    if args.command == "generate":
        write_output(output, package_dir=args.out, snapshot=args.snapshot)
        print(f"codegen: wrote {len(output.files)} files to {args.out} and {args.snapshot}")
        return 0
    found = differences(output, package_dir=args.out, snapshot=args.snapshot)
    if found:
        print("codegen: generated code is out of date with contracts/ (run `make generate`):")
        for line in found:
            print(f"  {line}")
        return 1
    print("codegen: generated/ and docs/openapi.json match contracts/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
