#!/usr/bin/env python3
"""The Lambda package's size: each function's code and the dependencies layer,
zipped (as `sam deploy` uploads them) and unzipped, against Lambda's limits.

    python bench/package.py              # sam build into .aws-sam/build, then measure
    python bench/package.py --no-build   # measure the last `sam build` output

Limits: 50 MB zipped for a direct upload, 250 MB unzipped for a function and
its layers together. The project's goal: the whole package under 25 MB zipped.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".aws-sam" / "build"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
MB = 1024 * 1024
ZIPPED_LIMIT = 50 * MB  # direct upload of one zip
UNZIPPED_LIMIT = 250 * MB  # a function and all its layers, unzipped
GOAL = 25 * MB  # every artifact of the release, zipped


@dataclass(frozen=True)
class Artifact:
    name: str
    files: int
    unzipped: int
    zipped: int


def zipped_size(folder: Path) -> tuple[int, int, int]:
    """(files, bytes, bytes zipped) of a folder, zipped as SAM does (deflate)."""
    buffer = io.BytesIO()
    files = total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
                files += 1
                total += path.stat().st_size
    return files, total, buffer.getbuffer().nbytes


def measure(build_dir: Path) -> list[Artifact]:
    """Every artifact folder `sam build` wrote (one per function and layer)."""
    artifacts = []
    for folder in sorted(p for p in build_dir.iterdir() if p.is_dir()):
        files, unzipped, zipped = zipped_size(folder)
        artifacts.append(Artifact(folder.name, files, unzipped, zipped))
    return artifacts


def sam_build(build_dir: Path) -> None:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    command = [str(SAM), "build", "--build-in-source", "--build-dir", str(build_dir)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"sam build failed:\n{result.stdout}{result.stderr}")


def report(artifacts: list[Artifact]) -> str:
    lines = [f"{'artifact':<20} {'files':>6} {'unzipped':>10} {'zipped':>9}  limit (zipped 50 MB)"]
    for a in artifacts:
        lines.append(
            f"{a.name:<20} {a.files:>6} {a.unzipped / MB:>8.1f}MB {a.zipped / MB:>7.2f}MB"
            f"  {a.zipped / ZIPPED_LIMIT:>5.1%}"
        )
    layers = [a for a in artifacts if a.name.endswith("Layer")]
    functions = [a for a in artifacts if not a.name.endswith("Layer")]
    layer_bytes = sum(a.unzipped for a in layers)
    for f in functions:
        unzipped = f.unzipped + layer_bytes
        lines.append(
            f"{f.name} with its layers: {unzipped / MB:.1f} MB unzipped"
            f" ({unzipped / UNZIPPED_LIMIT:.1%} of the 250 MB limit)"
        )
    # Functions built from the same code upload one identical zip; count it once.
    distinct = {(a.files, a.unzipped, a.zipped): a for a in functions}
    total = sum(a.zipped for a in layers) + sum(a.zipped for a in distinct.values())
    lines.append(
        f"release, zipped: {total / MB:.2f} MB (goal: under {GOAL / MB:.0f} MB;"
        f" {'met' if total < GOAL else 'NOT met'})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR)
    parser.add_argument("--no-build", action="store_true", help="measure the last build")
    args = parser.parse_args(argv)
    if not args.no_build:
        if not SAM.exists():
            print("bench/package.py: run infra/test once (it makes .venv-sam)", file=sys.stderr)
            return 2
        sam_build(args.build_dir)
    if not args.build_dir.is_dir():
        print(f"bench/package.py: no build in {args.build_dir}", file=sys.stderr)
        return 2
    print(report(measure(args.build_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
