"""Print template.yaml as CloudFormation sees it after the SAM transform (JSON).

Run with the SAM virtualenv's Python (infra/test makes it):

    .venv-sam/bin/python infra/transform.py [template.yaml] > transformed.json
    .venv-sam/bin/cfn-lint transformed.json

cfn-lint alone checks the SAM template before the transform; dependency cycles
the transform creates (E3004, e.g. a function's environment naming the
distribution that routes to the function's API) show only in its output. No
AWS call is made: the template names no managed policies to look up.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from samcli.yamlhelper import yaml_parse
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parent.parent


# Stand-ins for what `sam deploy` supplies: a region, and the S3 locations it
# uploads the built code to.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
PACKAGED = "s3://bucket/key"


def transform(path: Path) -> dict:
    template = yaml_parse(path.read_text())
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for name in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(name), str):
                properties[name] = PACKAGED
    function_globals = template.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = PACKAGED
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    # Parameter defaults are enough: the transform keeps Refs and conditions as they are.
    return translator.translate(sam_template=template, parameter_values={})


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    try:
        output = transform(path)
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{path}: {cause.message}", file=sys.stderr)
        return 1
    json.dump(output, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
