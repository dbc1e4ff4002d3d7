"""The README's commands work as written after its command 1 (issue 11, item 1):
every Python command runs the project's virtualenv, `.venv/bin/python`."""

from __future__ import annotations

import re

from tests.server import ROOT

PYTHON = ".venv/bin/python"


def python_commands(readme: str) -> list[str]:
    """Each command (split at `&&`, `;`, `|`) in the README's code that runs
    build.py or a bench/ script, without its leading VAR=value assignments."""
    blocks = re.findall(r"```(?:sh|bash)?\n(.*?)```", readme, re.S)
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)
    snippets = [b.replace("\\\n", " ") for b in blocks] + re.findall(r"`([^`\n]+)`", prose)
    commands = []
    for snippet in snippets:
        for line in snippet.splitlines():
            for part in re.split(r"&&|;|\|", line.split("#")[0]):
                words = part.split()
                while words and re.match(r"^[A-Z_]+=", words[0]):
                    words.pop(0)
                if words and words[0] == "build.py":
                    continue  # the tool's name in the prose ("against `build.py serve`")
                if any(w.endswith("build.py") or re.fullmatch(r"bench/\w+\.py", w) for w in words):
                    commands.append(" ".join(words))
    return commands


def test_every_python_command_in_the_readme_runs_the_venvs_python():
    commands = python_commands((ROOT / "README.md").read_text())
    assert any(c.startswith(f"{PYTHON} build.py seed") for c in commands)
    assert [c for c in commands if not c.startswith(f"{PYTHON} ")] == []


def test_the_check_sees_a_bare_python():
    assert python_commands("Run `python build.py serve`.") == ["python build.py serve"]
    assert python_commands("Run `./build.py seed`, not `build.py`.") == ["./build.py seed"]
    assert python_commands("```sh\nA=1 B=2 \\\n.venv/bin/python build.py\n```") == [
        ".venv/bin/python build.py"
    ]
