"""template.yaml (AWS SAM) against the code it deploys, with no AWS account.

- The linters (`sam validate --lint`, cfn-lint) on the template and on the SAM
  transform's output, where dependency cycles show (E3004).
- The table equals the adapter's schema; the stream filters equal the
  decoder's; every variable the code requires is set; each role allows what
  its function's code calls, on this stack's resources only.
- The CloudFront functions, run in Node.js; the Content-Security-Policy
  against the UI's templates and script.
- `sam build` (once per session): what the package holds, that each handler
  imports from it, and its size.

The SAM CLI and cfn-lint live in .venv-sam (infra/test makes it); without it
these tests are skipped locally and fail on CI.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions import config
from functions.store.dynamodb import TABLE_SCHEMA, TIME_TO_LIVE

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
SAM_BIN = ROOT / ".venv-sam" / "bin"
SAM_ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0"}

# Handler -> the function kind the code knows (config.LAMBDA_REQUIREMENTS).
KINDS = {
    "functions.handlers.http": "api",
    "functions.handlers.render": "render",
    "functions.handlers.fanout": "fanout",
    "functions.handlers.build": "build",
    "functions.handlers.export": "export",
}
# Function kind (and the release state machine) -> its IAM role.
ROLES = {
    "api": "ApiRole",
    "render": "RenderRole",
    "fanout": "FanoutRole",
    "build": "BuildRole",
    "release": "ReleaseRole",
    "export": "ExportRole",
}
# The only actions with no resource type to scope them to.
UNSCOPABLE_ACTIONS = {"translate:TranslateText", "comprehend:DetectDominantLanguage"}
PACKAGE_GOAL = 25 * 1024 * 1024


# ------------------------------------------------------------------ reading it


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) as the
    long forms ({"Ref": ...}, {"Fn::GetAtt": [...]}, ...)."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CfnLoader)  # a SafeLoader


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def functions(resources) -> dict[str, dict[str, Any]]:
    """Function kind ("api", "render") -> its resource's Properties."""
    found = {
        KINDS[r["Properties"]["Handler"]]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert set(found) == set(KINDS.values())
    return found


def names_in(value: Any) -> set[str]:
    """The template resources/parameters an expression refers to."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"].split(".")[0]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
        return set().union(*(names_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value)) if value else set()
    return set()


# ------------------------------------------------------------------ the tools


def tool(name: str) -> Path:
    path = SAM_BIN / name
    if not path.exists():
        message = f"{path} is missing: infra/test makes .venv-sam (infra/requirements-sam.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, env=SAM_ENV, capture_output=True, text=True
    )


def transform(path: Path, out: Path) -> Path:
    """The SAM translator's output for `path`, as CloudFormation would get it."""
    result = run(tool("python"), ROOT / "infra" / "transform.py", path)
    assert result.returncode == 0, result.stderr
    out.write_text(result.stdout)
    return out


def test_sam_validate_lint_reports_nothing():
    result = run(tool("sam"), "validate", "--lint", "--template-file", TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def transformed(tmp_path_factory) -> Path:
    return transform(TEMPLATE, tmp_path_factory.mktemp("sam") / "transformed.json")


def test_cfn_lint_reports_nothing_on_the_template_nor_on_its_transform(transformed):
    result = run(tool("cfn-lint"), TEMPLATE, transformed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_api_is_the_http_apis_default_route_and_stage_with_payload_2(transformed):
    resources = json.loads(transformed.read_text())["Resources"]
    (api,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    route = api["Properties"]["Body"]["paths"]["$default"]["x-amazon-apigateway-any-method"]
    integration = route["x-amazon-apigateway-integration"]
    assert integration["payloadFormatVersion"] == "2.0"
    assert "${ApiFunction.Arn}" in integration["uri"]["Fn::Sub"]
    (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stage["Properties"]["StageName"] == "$default"


def test_the_transform_lint_catches_the_site_url_cycle(tmp_path):
    """The check above can fail: the API function's SITE_URL taken from the
    distribution makes a cycle (function -> distribution -> API -> function)
    that only the transformed template shows."""
    text = TEMPLATE.read_text()
    wiring = 'SITE_URL: !If [HasDomain, !Sub "https://${DomainName}", ""]'
    assert text.count(wiring) == 1
    cyclic = tmp_path / "cyclic.yaml"
    cyclic.write_text(text.replace(wiring, 'SITE_URL: !Sub "https://${Distribution.DomainName}"'))
    result = run(tool("cfn-lint"), transform(cyclic, tmp_path / "cyclic.json"))
    assert "E3004" in result.stdout


# ------------------------------------------------------------------ data


def by_name(items: list[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items}


def test_the_table_is_exactly_the_adapters_schema(resources):
    table = resources["Table"]
    props = table["Properties"]
    for key in ("BillingMode", "KeySchema"):
        assert props[key] == TABLE_SCHEMA[key]
    for key, name in (
        ("AttributeDefinitions", "AttributeName"),
        ("LocalSecondaryIndexes", "IndexName"),
        ("GlobalSecondaryIndexes", "IndexName"),
    ):
        assert by_name(props.get(key, []), name) == by_name(TABLE_SCHEMA.get(key, []), name)
    stream = TABLE_SCHEMA["StreamSpecification"]
    assert props["StreamSpecification"] == {"StreamViewType": stream["StreamViewType"]}
    assert props["TimeToLiveSpecification"] == TIME_TO_LIVE


def test_the_table_is_recoverable_and_outlives_the_stack(resources):
    table = resources["Table"]
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_the_stream_filters_are_the_decoders(functions):
    from functions.store.dynamodb_schema import STREAM_FILTERS

    stream = functions["render"]["Events"]["Stream"]["Properties"]
    patterns = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    assert patterns == STREAM_FILTERS


def test_the_fanout_filters_are_the_jobs_starters(functions):
    from functions.store.dynamodb_schema import FANOUT_FILTERS

    stream = functions["fanout"]["Events"]["Stream"]["Properties"]
    patterns = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    assert patterns == FANOUT_FILTERS


@pytest.mark.parametrize("kind", ["render", "fanout"])
def test_private_messages_pass_neither_streams_filters(functions, kind):
    """Messages and notifications (the unread count) are never delivered to
    the render or fan-out function: no event of theirs, in any shape."""
    from datetime import UTC, datetime

    from functions.domain import Message
    from functions.store.dynamodb_schema import dump, message_item, notification_key
    from tests.streams import passes

    stream = functions[kind]["Events"]["Stream"]["Properties"]
    patterns = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    message = Message("01J0000000000000000000000A", "a", "b", "secret", datetime.now(UTC))
    note = {**notification_key("b", "unread_message_count"), "type": "notification", "data": 1}
    for item in (message_item(message), note):
        for name, images in (
            ("INSERT", {"NewImage": dump(item)}),
            ("MODIFY", {"NewImage": dump(item), "OldImage": dump(item)}),
            ("REMOVE", {"OldImage": dump(item)}),
        ):
            assert not passes(patterns, {"eventName": name, "dynamodb": images}), (item, name)


def test_the_fanout_function_takes_the_stream_and_its_queue_safely(functions, resources):
    fanout = functions["fanout"]
    events = fanout["Events"]
    stream, queue = events["Stream"]["Properties"], events["Queue"]["Properties"]
    assert stream["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    for source in (stream, queue):
        assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert queue["Queue"] == {"Fn::GetAtt": ["FanoutQueue", "Arn"]}
    queue_props = resources["FanoutQueue"]["Properties"]
    assert queue_props["VisibilityTimeout"] >= 6 * fanout["Timeout"]  # AWS's advice
    dead = queue_props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert dead == stream["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert fanout["Environment"]["Variables"]["FANOUT_QUEUE_URL"] == {"Ref": "FanoutQueue"}


def test_the_fanout_role_can_do_a_jobs_steps_and_nothing_else(resources):
    actions = allowed(resources, "fanout")
    assert {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",  # a batch's new posts, read to be numbered
        "dynamodb:Query",
        "dynamodb:UpdateItem",  # the explore counter's ADD, each post's number
        "dynamodb:BatchWriteItem",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    } <= actions
    assert not {a for a in actions if a.startswith(("s3:", "secretsmanager:", "ses:"))}
    writes = {"PutItem", "DeleteItem", "ConditionCheckItem"}
    assert not {a for a in actions if a.startswith("dynamodb:") and a.split(":")[1] in writes}


def test_the_render_function_consumes_the_stream_safely(functions, resources):
    render = functions["render"]
    stream = render["Events"]["Stream"]["Properties"]
    assert stream["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert 0 < stream["MaximumBatchingWindowInSeconds"] <= 10
    assert 0 < stream["MaximumRetryAttempts"] <= 10
    on_failure = stream["DestinationConfig"]["OnFailure"]
    assert resources[on_failure["Destination"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    assert render["ReservedConcurrentExecutions"] == 1  # renders of one page never race


def test_a_release_rebuilds_the_site(resources, functions):
    """The custom resource changes with every new version of the build
    function (its code, templates, content, layer, settings), so CloudFormation
    asks it for a full build on each release that changes any; the state
    machine it starts must answer within the resource's timeout."""
    build = functions["build"]
    assert build["AutoPublishAlias"] and build["AutoPublishAliasAllProperties"] is True
    builds = [r for r in resources.values() if r["Type"].startswith("Custom::")]
    assert len(builds) == 1
    props = builds[0]["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["BuildFunction", "Arn"]}
    assert {"Ref": "BuildFunction.Version"} in props.values()
    assert props["ServiceTimeout"] == 3600  # CloudFormation's most
    # Started by name on the first deploy too: it must exist before the request.
    assert builds[0]["DependsOn"] == "ReleaseStateMachine"
    assert build["Timeout"] == 900  # one shard per invocation, at most Lambda's 15 minutes


def test_the_release_state_machine_is_the_one_the_build_function_starts(resources, functions):
    """Named, so that the function can know its ARN without a reference (the
    state machine refers to the function: a reference back would be a cycle)."""
    machine = resources["ReleaseStateMachine"]["Properties"]
    arn = functions["build"]["Environment"]["Variables"]["RELEASE_STATE_MACHINE"]["Fn::Sub"]
    assert arn.endswith(":stateMachine:" + machine["StateMachineName"]["Fn::Sub"])
    subs = machine["DefinitionSubstitutions"]
    assert subs["BuildFunction"] == {"Fn::GetAtt": ["BuildFunction", "Arn"]}
    assert subs["RenderStream"] == {"Ref": "RenderFunctionStream"}  # SAM's mapping of its Stream
    (start,) = [s for s in statements(resources, "build") if s["Action"] == "states:StartExecution"]
    assert start["Resource"] == {"Fn::Sub": arn}
    shards = machine["Definition"]["States"]["Shards"]
    assert shards["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"


def test_functions_run_python_312_or_newer_on_arm64(template, functions):
    defaults = template["Globals"]["Function"]
    for props in functions.values():
        runtime = props.get("Runtime", defaults["Runtime"])
        assert re.fullmatch(r"python3\.(\d+)", runtime) and int(runtime[8:]) >= 12
        assert props.get("Architectures", defaults["Architectures"]) == ["arm64"]
        assert props["MemorySize"] >= 512
    assert functions["api"]["Timeout"] < 30  # the HTTP API gives up at 30 s
    assert functions["render"]["Timeout"] <= 300  # a stream batch, not a full build


# ------------------------------------------------------------------ settings


def test_every_variable_the_code_requires_is_set(functions):
    for kind, props in functions.items():
        variables = props["Environment"]["Variables"]
        missing = set(config.LAMBDA_REQUIREMENTS[kind]) - set(variables)
        assert not missing, f"{kind} function lacks {missing}"
        unknown = set(variables) - set(config.ENVIRONMENT)
        assert not unknown, f"{kind} function sets variables the code never reads: {unknown}"
        assert variables["STORE"] == "dynamodb"


def test_each_function_starts_with_the_templates_environment(template, functions):
    """The code's own start-up check passes with exactly the variables the
    template sets (a parameter standing for its default, a resource reference
    for a plausible value)."""
    parameters = template["Parameters"]
    for kind, props in functions.items():
        environ = {"AWS_LAMBDA_FUNCTION_NAME": f"microblog-{kind}"}
        for name, value in props["Environment"]["Variables"].items():
            if isinstance(value, dict) and value.get("Ref") in parameters:
                value = str(parameters[value["Ref"]]["Default"])
            environ[name] = value if isinstance(value, str) else f"value-of-{name.lower()}"
        settings = config.Settings.from_env(environ).check_lambda(kind)
        assert settings.store == "dynamodb" and settings.on_lambda
    assert settings.build_shards == 8 or kind != "build"


def test_the_api_knows_its_secrets_and_mail_settings(functions):
    variables = functions["api"]["Environment"]["Variables"]
    assert variables["SECRET_KEY_ARN"] == {"Ref": "SecretKey"}
    assert variables["ORIGIN_SECRET_ARN"] == {"Ref": "OriginVerifySecret"}
    assert variables["MAIL_TRANSPORT"] == "ses"
    assert names_in(variables["MAIL_SENDER"]) == {"MailSender"}
    # Only a parameter: the distribution's name would close a cycle.
    assert names_in(variables["SITE_URL"]) <= {"HasDomain", "DomainName"}


def test_the_renderer_publishes_to_this_stacks_bucket_and_distribution(functions):
    variables = functions["render"]["Environment"]["Variables"]
    assert variables["SITE_BUCKET"] == {"Ref": "SiteBucket"}
    assert variables["DISTRIBUTION_ID"] == {"Ref": "Distribution"}
    assert "Distribution" in names_in(variables["SITE_URL"])
    assert variables["TABLE_NAME"] == {"Ref": "Table"}


# ------------------------------------------------------------------ permissions

# botocore operation -> the IAM actions it needs (a transaction needs those of
# its parts; HeadObject is authorised as GetObject; a listing as ListBucket).
IAM_ACTIONS = {
    ("dynamodb", "transact_write_items"): {
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    },
    ("dynamodb", "transact_get_items"): {"dynamodb:GetItem"},
    ("s3", "head_object"): {"s3:GetObject"},
    ("s3", "list_objects_v2"): {"s3:ListBucket"},
    ("s3", "list_objects"): {"s3:ListBucket"},
    ("s3", "delete_objects"): {"s3:DeleteObject"},
    ("sesv2", "send_email"): {"ses:SendEmail"},
    ("lambda", "invoke"): {"lambda:InvokeFunction"},
    ("translate", "translate_text"): {
        "translate:TranslateText",
        "comprehend:DetectDominantLanguage",  # Translate calls it for source "auto"
    },
}
DYNAMODB_READS = {"get_item", "batch_get_item", "query", "transact_get_items"}
# Table administration (DynamoDB Local only: the template owns the real table),
# and `build.py repair`'s Scan (an operator's, with their own credentials): no
# function calls them, so no role allows them.
DYNAMODB_ADMIN = {
    "create_table",
    "delete_table",
    "describe_table",
    "update_time_to_live",
    "describe_time_to_live",
    "scan",
}


def iam_actions(service: str, operation: str) -> set[str]:
    if (service, operation) in IAM_ACTIONS:
        return IAM_ACTIONS[service, operation]
    return {service + ":" + "".join(part.title() for part in operation.split("_"))}


def client_calls(path: Path) -> dict[str, set[str]]:
    """Service -> the operations the module calls on boto3 clients: calls
    `<...client...>.<operation>(...)`, with the service named in a
    `client("<service>")` / `_client("<service>")` call or by the module."""
    default = {
        "dynamodb.py": "dynamodb",
        "mail.py": "sesv2",
        "translate.py": "translate",
        "wiring.py": "secretsmanager",
        "release.py": "s3",
        "task_runners.py": "lambda",
    }.get(path.name)
    calls: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        # The last name of the receiver (or of the function it calls) says "client":
        # `self.client.query(...)`, `self._client("s3").put_object(...)`,
        # `secrets_client().get_secret_value(...)`; not `client.get_waiter(...).wait()`.
        last = node.func.value.func if isinstance(node.func.value, ast.Call) else node.func.value
        if "client" not in ast.unparse(last).rsplit(".", 1)[-1].lower():
            continue
        named = re.search(r"client\(\s*[\"'](\w+)[\"']", receiver)
        service = named.group(1) if named else default
        operation = node.func.attr
        if operation in ("get_waiter", "meta", "close"):
            continue
        if operation == "get_paginator":
            operation = ast.literal_eval(node.args[0])
        assert service, f"{path}: cannot tell the service of {ast.unparse(node)}"
        calls.setdefault(service, set()).add(operation)
    return calls


def needed(paths: list[str], keep=lambda service, op: True) -> set[str]:
    actions: set[str] = set()
    for relative in paths:
        for service, operations in client_calls(ROOT / relative).items():
            for operation in operations:
                if keep(service, operation):
                    actions |= iam_actions(service, operation)
    return actions


def statements(resources, kind: str) -> list[dict]:
    role = ROLES[kind]
    found = []
    for policy in resources[role]["Properties"]["Policies"]:
        found += policy["PolicyDocument"]["Statement"]
    return found


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allowed(resources, kind: str) -> set[str]:
    return {
        action
        for statement in statements(resources, kind)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }


def test_functions_use_their_own_roles(functions, resources):
    for kind, props in functions.items():
        role = ROLES[kind]
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert "Policies" not in props  # no SAM policy templates with broad resources


def test_each_role_allows_what_its_code_calls(resources):
    api_code = [
        "functions/store/dynamodb.py",
        "functions/mail.py",
        "functions/translate.py",
        "functions/wiring.py",
        "functions/task_runners.py",
    ]
    api_needs = needed(api_code, keep=lambda s, op: s != "dynamodb" or op not in DYNAMODB_ADMIN)
    assert api_needs - allowed(resources, "api") == set()
    render_needs = needed(
        ["functions/store/dynamodb.py", "functions/sitegen/s3.py"],
        keep=lambda s, op: s != "dynamodb" or op in DYNAMODB_READS,
    )
    assert render_needs - allowed(resources, "render") == set()
    build_needs = needed(
        ["functions/store/dynamodb.py", "functions/sitegen/s3.py", "functions/release.py"],
        keep=lambda s, op: s != "dynamodb" or op in DYNAMODB_READS,
    )
    assert {"s3:PutObject", "s3:DeleteObject"} <= build_needs
    assert (build_needs | {"states:StartExecution"}) - allowed(resources, "build") == set()


def test_a_full_build_to_s3_makes_only_calls_the_build_and_render_roles_allow(
    resources, dynamodb_endpoint, monkeypatch
):
    """What a full build really calls (DynamoDB Local, moto's S3), recorded
    under botocore: reads of the table, and the bucket's objects; the build
    function makes it, and the render function makes a part of it."""
    import uuid

    import boto3
    from botocore import xform_name
    from botocore.client import BaseClient
    from moto import mock_aws

    from functions.config import Settings
    from functions.seed import seed
    from functions.sitegen.builder import SiteBuilder
    from functions.sitegen.s3 import S3Publisher
    from functions.store.dynamodb import DynamoStore
    from functions.wiring import make_renderer

    make_api_call = BaseClient._make_api_call
    store = DynamoStore(f"template-{uuid.uuid4().hex[:8]}", endpoint_url=dynamodb_endpoint)
    store.create_table()
    try:
        seed(store, 4, 12, seed=1)
        calls: set[tuple[str, str]] = set()

        def recorded(client, operation, params):
            calls.add((client.meta.service_model.service_name, xform_name(operation)))
            return make_api_call(client, operation, params)

        with mock_aws():
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="site")
            monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
            renderer = make_renderer(Settings.from_env())
            builder = SiteBuilder(store, renderer, lambda: S3Publisher("site"), workers=1)
            builder.build_all()
            builder.build_all()  # again: unchanged pages are skipped, not rewritten
    finally:
        monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
        store.delete_table()
    assert ("s3", "put_object") in calls and ("dynamodb", "query") in calls
    needs = set().union(*(iam_actions(service, op) for service, op in calls))
    assert needs - allowed(resources, "build") == set()
    assert needs - allowed(resources, "render") == set()


@pytest.mark.parametrize("kind", ["render", "build"])
def test_the_page_makers_cannot_write_the_table_nor_read_secrets(resources, kind):
    actions = allowed(resources, kind)
    writes = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "ConditionCheckItem"}
    assert not {a for a in actions if a.split(":")[1] in writes and a.startswith("dynamodb:")}
    assert not {a for a in actions if a.startswith(("secretsmanager:", "ses:", "translate:"))}


def test_no_role_is_broad(resources):
    # What SAM adds for a function's events: `<Function><Event>` (its stream mappings).
    generated = {
        name + event
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {})
    }
    for kind in ROLES:
        for statement in statements(resources, kind):
            actions = as_list(statement["Action"])
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in actions), statement
            for resource in as_list(statement["Resource"]):
                if resource == "*":
                    assert set(actions) <= UNSCOPABLE_ACTIONS, statement
                    continue
                # Every resource is one of this stack's, or built from a parameter,
                # or the release state machine, by its name (see its test).
                names = names_in(resource) - {"AWS::Partition", "AWS::Region", "AWS::AccountId"}
                if "AWS::StackName" in names:
                    assert ":${AWS::StackName}-release" in resource["Fn::Sub"], statement
                    names = (names - {"AWS::StackName"}) or {"ReleaseStateMachine"}
                assert names and names <= set(resources) | generated | {"MailIdentity"}, statement


# ------------------------------------------------------------------ the edge


def distribution(resources) -> dict[str, Any]:
    return resources["Distribution"]["Properties"]["DistributionConfig"]


def test_the_bucket_is_private_and_read_only_by_the_distribution(resources):
    bucket = resources["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}  # ETag = MD5
    (read,) = [
        s
        for s in resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "Distribution" in names_in(read["Condition"])
    (site,) = [o for o in distribution(resources)["Origins"] if "S3OriginConfig" in o]
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}


def test_missing_pages_fall_over_to_the_api_not_to_custom_error_responses(resources):
    config_ = distribution(resources)
    assert "CustomErrorResponses" not in config_  # they would replace the API's JSON errors
    (group,) = config_["OriginGroups"]["Items"]
    assert sorted(group["FailoverCriteria"]["StatusCodes"]["Items"]) == [403, 404]
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["site", "api"]
    assert config_["DefaultCacheBehavior"]["TargetOriginId"] == group["Id"]


def test_the_api_is_uncached_sees_the_viewer_and_is_reached_only_through_cloudfront(resources):
    config_ = distribution(resources)
    (api,) = [b for b in config_["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    # AllViewerExceptHostHeader: cookies, query strings, viewer headers but Host,
    # and CloudFront's headers (CloudFront-Viewer-Address).
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    assert {"POST", "PUT", "DELETE"} <= set(api["AllowedMethods"])
    (origin,) = [o for o in config_["Origins"] if o["Id"] == api["TargetOriginId"]]
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    assert header["HeaderValue"] == {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}}}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def node_run(code: str, calls: list[dict]) -> list[Any]:
    """Each `handler(event)` result of a CloudFront Function, run by Node.js."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (infra/test installs npm, which brings it)")
    script = code + "\nconsole.log(JSON.stringify(EVENTS.map(handler)));"
    script = f"const EVENTS = {json.dumps(calls)};\n" + script
    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def viewer_request(uri: str, query: dict | None = None, host: str = "d1.cloudfront.net"):
    querystring = {k: {"value": v} for k, v in (query or {}).items()}
    return {
        "request": {"uri": uri, "querystring": querystring, "headers": {"host": {"value": host}}}
    }


def test_the_site_function_maps_pretty_urls_to_objects(resources):
    code = resources["SiteRequestFunction"]["Properties"]["FunctionCode"]
    cases = {
        "/": "/index.html",
        "/u/ann/": "/u/ann/index.html",
        "/static/app.0123456789.js": "/static/app.0123456789.js",
        "/404.html": "/404.html",
        "/explore/feed.xml": "/explore/feed.xml",
    }
    results = node_run(code, [viewer_request(uri) for uri in cases])
    assert [r["uri"] for r in results] == list(cases.values())
    moved, moved_with_query = node_run(
        code, [viewer_request("/u/ann"), viewer_request("/login", {"next": "/u/ann/"})]
    )
    assert moved["statusCode"] == 301 and moved["headers"]["location"]["value"] == "/u/ann/"
    assert moved_with_query["headers"]["location"]["value"] == "/login/?next=/u/ann/"


def test_the_api_function_passes_the_viewers_host_on(resources):
    code = resources["ApiRequestFunction"]["Properties"]["FunctionCode"]
    (request,) = node_run(code, [viewer_request("/api/me", host="microblog.example")])
    assert request["headers"]["x-forwarded-host"] == {"value": "microblog.example"}


def csp(resources) -> dict[str, set[str]]:
    policy = resources["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    text = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    directives = (d.split() for d in text.split(";") if d.strip())
    return {d[0]: set(d[1:]) for d in directives}


def test_the_content_security_policy_allows_the_ui_and_nothing_inline(resources):
    policy = csp(resources)
    assert policy["default-src"] == {"'self'"}
    assert policy["script-src"] == {"'self'"} and policy["style-src"] == {"'self'"}
    assert policy["connect-src"] == {"'self'"}  # fetch() of /api on the same origin
    assert policy["frame-ancestors"] == {"'none'"} and policy["object-src"] == {"'none'"}
    # The UI has nothing the policy would block: no inline script, style or
    # handler, and no image from anywhere but the site and Gravatar.
    for path in (ROOT / "templates").rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), path
    script = (ROOT / "templates" / "static" / "app.js").read_text()
    # (Setting a property of `element.style` is CSSOM, which the policy allows;
    # a style attribute written as markup is not.)
    assert not re.search(r"\beval\(|new Function\(|setAttribute\(\s*.style|https?://", script)
    # Images: the avatars (functions/domain.py), and post bodies allow no <img>.
    from functions.markup import ALLOWED_TAGS

    assert "img" not in ALLOWED_TAGS
    hosts = set(re.findall(r"(https://[\w.-]+)/", (ROOT / "functions" / "domain.py").read_text()))
    assert hosts and hosts <= policy["img-src"]


def test_every_response_gets_the_security_headers(resources):
    config_ = distribution(resources)
    for behavior in [config_["DefaultCacheBehavior"], *config_["CacheBehaviors"]]:
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}
        assert behavior["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    headers = resources["SecurityHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert {"ContentTypeOptions", "ReferrerPolicy", "FrameOptions"} <= set(security)


def test_alarms_watch_the_stream_the_dead_letters_errors_and_throttles(resources):
    watched = {
        (r["Properties"]["MetricName"], frozenset(names_in(r["Properties"]["Dimensions"])))
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    for metric, resource in [
        ("IteratorAge", "RenderFunction"),
        ("ApproximateNumberOfMessagesVisible", "RenderDeadLetterQueue"),
        ("Errors", "ApiFunction"),
        ("Errors", "RenderFunction"),
        ("Throttles", "ApiFunction"),
        ("Throttles", "RenderFunction"),
        ("Errors", "ExportFunction"),
        ("ApproximateNumberOfMessagesVisible", "ExportDeadLetterQueue"),
    ]:
        assert (metric, frozenset({resource})) in watched


def test_the_outputs_name_the_site_api_bucket_and_distribution(template):
    assert {"SiteUrl", "ApiUrl", "SiteBucketName", "DistributionId"} <= set(template["Outputs"])


# ------------------------------------------------------------------ the package


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> Path:
    """`sam build` of this checkout, once per test session."""
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    result = run(tool("sam"), "build", "--build-in-source", "--build-dir", build_dir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def lambda_requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lambda.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[dist_name(name)] = version
    return pins


def layer_distributions(build: Path) -> dict[str, str]:
    found = {}
    for info in (build / "DependenciesLayer" / "python").glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        found[dist_name(name)] = version
    return found


def has_python_312() -> bool:
    """What the Makefile compiles with: pyenv's 3.12, or a python3.12."""
    versions: list[str] = []
    if shutil.which("pyenv"):
        pyenv = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
        versions = pyenv.stdout.split()
    return any(v.startswith("3.12") for v in versions) or bool(shutil.which("python3.12"))


def test_functions_hold_only_the_code_templates_content_and_catalogs(build):
    for function in ("ApiFunction", "RenderFunction"):
        root = build / function
        assert {p.name for p in root.iterdir()} == {
            "functions",
            "templates",
            "content",
            "translations",
        }
        unwanted = {"tests", "node_modules", ".venv", "var", "site", "docs"}
        assert not [p for p in root.rglob("*") if unwanted & set(p.relative_to(root).parts)]
        # Precompiled for Lambda's Python only (see the Makefile), never this
        # machine's; wherever a Python 3.12 exists to compile with.
        compiled = [p.name for p in root.rglob("*.pyc")]
        assert all(".cpython-312." in name for name in compiled)
        assert compiled or not has_python_312()
        assert (root / "templates" / "base.html").exists() and (root / "content").is_dir()
        assert (root / "translations" / "es" / "LC_MESSAGES" / "messages.mo").is_file()


def test_the_layer_holds_the_pinned_runtime_dependencies_and_no_tools(build):
    found = layer_distributions(build)
    for name, version in lambda_requirements().items():
        assert found.get(name) == version, name
    for tool_name in ("numpy", "faker", "uvicorn", "pytest", "moto", "playwright", "ruff"):
        assert tool_name not in found
    # boto3 comes with Lambda's runtime; bundling it would add 18 MB zipped.
    assert not {"boto3", "botocore", "s3transfer"} & set(found)


def test_the_layer_is_built_for_linux_arm64_cpython_312(build):
    layer = build / "DependenciesLayer" / "python"
    wheels = list(layer.glob("*.dist-info/WHEEL"))
    assert wheels
    for wheel in wheels:
        lines = wheel.read_text().splitlines()
        for tag in (line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")):
            _python, abi, platform = tag.split("-")
            assert platform == "any" or "aarch64" in platform, wheel
            assert abi in ("none", "abi3", "cp312"), wheel
    assert not [p for p in layer.rglob("*.so") if "x86_64" in p.name]


def test_every_handler_imports_from_the_built_package(build, template):
    """The handler modules resolve from the artifact alone (its own code, its
    templates), with this machine's copies of the pinned dependencies: the
    layer's compiled wheels are for arm64 and cannot load here."""
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        module, attribute = resource["Properties"]["Handler"].rsplit(".", 1)
        check = (
            "import importlib, os, sys\n"
            f"m = importlib.import_module({module!r})\n"
            f"assert callable(getattr(m, {attribute!r}))\n"
            "assert m.__file__.startswith(os.getcwd()), m.__file__\n"
            "from functions import config\n"
            "assert (config.ROOT / 'templates' / 'base.html').is_file()\n"
            "assert str(config.ROOT) == os.getcwd(), config.ROOT\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        result = subprocess.run(
            [sys.executable, "-c", check], cwd=build / name, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


def test_the_release_is_under_25_mb_zipped(build):
    spec = importlib.util.spec_from_file_location("bench_package", ROOT / "bench" / "package.py")
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package  # its dataclass looks its module up
    spec.loader.exec_module(package)
    artifacts = {a.name: a for a in package.measure(build)}
    release = artifacts["DependenciesLayer"].zipped + artifacts["ApiFunction"].zipped
    assert release < PACKAGE_GOAL
    for function in ("ApiFunction", "RenderFunction"):
        unzipped = artifacts[function].unzipped + artifacts["DependenciesLayer"].unzipped
        assert unzipped < package.UNZIPPED_LIMIT


# ------------------------------------------------------------------ export


def test_the_api_starts_exports_asynchronously_and_only_them(functions, resources):
    variables = functions["api"]["Environment"]["Variables"]
    assert variables["EXPORT_FUNCTION"] == {"Ref": "ExportFunction"}
    for kind in ROLES:
        for statement in statements(resources, kind):
            if "lambda:InvokeFunction" in as_list(statement["Action"]):
                targets = {names_in(r).pop() for r in as_list(statement["Resource"])}
                assert targets == ({"ExportFunction"} if kind == "api" else {"BuildFunction"})
    assert "lambda:InvokeFunction" in allowed(resources, "api")


def test_a_failed_export_goes_to_its_dead_letter_queue_untried_again(functions, resources):
    export = functions["export"]
    invoke = export["EventInvokeConfig"]
    assert invoke["MaximumRetryAttempts"] == 0  # the job marks its task failed: the user retries
    destination = invoke["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    queue = destination["Destination"]["Fn::GetAtt"][0]
    assert resources[queue]["Type"] == "AWS::SQS::Queue"
    (send,) = [s for s in statements(resources, "export") if s["Action"] == "sqs:SendMessage"]
    assert send["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert "Events" not in export  # nothing but the API's invocation starts it
    assert export["Timeout"] == 900
    assert export["Environment"]["Variables"]["MAIL_TRANSPORT"] == "ses"


def test_the_export_role_reads_posts_writes_its_task_and_mails_nothing_more(resources):
    actions = allowed(resources, "export")
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "ses:SendEmail",
        "sqs:SendMessage",
    }
    (mail,) = [s for s in statements(resources, "export") if s["Action"] == "ses:SendEmail"]
    (api_mail,) = [s for s in statements(resources, "api") if s["Action"] == "ses:SendEmail"]
    assert mail["Resource"] == api_mail["Resource"]  # the MailIdentity only
