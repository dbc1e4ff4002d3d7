"""Runs the release state machine's definition (template.yaml) in the test
process, as Step Functions would, for the parts of Amazon States Language
the definition uses: Task, Map (its items one after another), Fail;
Parameters, ItemSelector and ResultSelector with JSONPath (`$.a.b`,
`$$.Execution.Name`, `$$.Map.Item.Value.x`) and `States.ArrayLength`;
ResultPath; Catch on States.ALL. Retries are not replayed.

Step Functions has no local runner here (no Docker): this one checks the
wiring of states to the code's steps, with the real handler; cfn-lint
checks the definition against the language's schema.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
ARRAY_LENGTH = re.compile(r"States\.ArrayLength\((\$[^)]*)\)")


class Failed(Exception):
    """The execution reached a Fail state."""


def path(expression: str, state: Any, context: dict) -> Any:
    """`$`, `$.a.b` (of the state) or `$$.a.b` (of the context object)."""
    value, names = (
        (context, expression[3:]) if expression.startswith("$$.") else (state, expression[2:])
    )
    for name in filter(None, names.split(".")):
        value = value[name]
    return value


def resolve(template: Any, state: Any, context: dict) -> Any:
    """Parameters, ItemSelector or ResultSelector applied to `state`."""
    if not isinstance(template, dict):
        return template
    result = {}
    for key, value in template.items():
        if key.endswith(".$"):
            length = ARRAY_LENGTH.fullmatch(value)
            result[key[:-2]] = (
                len(path(length.group(1), state, context))
                if length
                else path(value, state, context)
            )
        else:
            result[key] = resolve(value, state, context)
    return result


def put(state: Any, result_path: str | None, result: Any) -> Any:
    if result_path is None:
        return state
    if result_path == "$":
        return result
    state = copy.deepcopy(state)
    target = state
    *parents, last = result_path[2:].split(".")
    for name in parents:
        target = target.setdefault(name, {})
    target[last] = result
    return state


def run(
    definition: dict,
    state: Any,
    tasks: Callable[[str, dict], Any],
    context: dict,
) -> Any:
    """Run `definition` from its StartAt on input `state`; `tasks(resource,
    parameters)` does a Task's work. Returns the output; raises Failed."""
    name = definition["StartAt"]
    while True:
        step = definition["States"][name]
        kind = step["Type"]
        if kind == "Fail":
            raise Failed(step.get("Error"), state)
        try:
            if kind == "Task":
                parameters = resolve(step.get("Parameters", {}), state, context)
                result = tasks(step["Resource"], parameters)
            elif kind == "Map":
                result = [
                    run(
                        step["ItemProcessor"],
                        resolve(step["ItemSelector"], state, {**context, "Map": {"Item": item}}),
                        tasks,
                        context,
                    )
                    for item in ({"Value": v} for v in path(step["ItemsPath"], state, context))
                ]
            else:
                raise NotImplementedError(kind)
            if "ResultSelector" in step:
                result = resolve(step["ResultSelector"], result, context)
            state = put(state, step.get("ResultPath", "$"), result)
        except Failed:
            raise
        except Exception as error:
            catch = next(
                (c for c in step.get("Catch", []) if "States.ALL" in c["ErrorEquals"]), None
            )
            if catch is None:
                raise
            cause = {"Error": type(error).__name__, "Cause": str(error)}
            state = put(state, catch.get("ResultPath", "$"), cause)
            name = catch["Next"]
            continue
        if step.get("End"):
            return state
        name = step["Next"]


def substituted(definition: Any, substitutions: dict[str, str]) -> Any:
    """The definition with its `${Name}` placeholders replaced."""
    if isinstance(definition, dict):
        return {k: substituted(v, substitutions) for k, v in definition.items()}
    if isinstance(definition, list):
        return [substituted(v, substitutions) for v in definition]
    if isinstance(definition, str):
        for name, value in substitutions.items():
            definition = definition.replace("${" + name + "}", value)
    return definition
