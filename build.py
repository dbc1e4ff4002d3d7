#!/usr/bin/env python3
"""Microblog's command line.

    python build.py [build] [--allow-mass-delete]   full build of the static site into site/
    python build.py build --shard I/N   only shard I of N of the pages (sitegen/shards.py)
    python build.py serve [--host --port]   build, then serve site/ and /api on one origin
    python build.py seed --users N --posts M   deterministic demo data, through the store
    python build.py publish [--bucket B] [--distribution D]   full build straight to S3
    python build.py repair   number posts a failed fan-out left out of explore (DynamoDB)
    python build.py translate init LANG|update|compile   the translation catalogs (Babel)

Settings come from the environment, read once (see README and
functions/config.py): STORE, TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, VAR_DIR,
SITE_DIR, SITE_URL, SECRET_KEY, SITE_BUCKET, SITE_PREFIX, DISTRIBUTION_ID.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
from pathlib import Path

from functions.config import Settings


def count(minimum: int):
    """An argparse type: a whole number of at least `minimum` (a one-line error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "number"  # what argparse names in "invalid number value"
    return parse


def port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    value = count(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {value}")
    return value


def shard(text: str):
    """An argparse type: a shard, I/N (`functions.sitegen.shards.Shard`)."""
    from functions.sitegen.shards import Shard

    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build(args: argparse.Namespace) -> int:
    from functions.sitegen.builder import MassDeletion
    from functions.wiring import local_builder, open_store

    settings = Settings.from_env()
    store = open_store(settings, create=True)
    builder = local_builder(settings, store, workers=getattr(args, "workers", None))
    if getattr(args, "shard", None):
        stats = builder.build_shard(args.shard)
        print(f"Built shard {args.shard} of {settings.site_dir}: {stats.summary()}")
        return 0
    try:
        stats = builder.build_all(
            progress=True, allow_mass_delete=getattr(args, "allow_mass_delete", False)
        )
    except MassDeletion as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    print(f"Built {settings.site_dir}: {stats.summary()}")
    return 0


def seed(args: argparse.Namespace) -> int:
    from functions.seed import DEMO_PASSWORD
    from functions.seed import seed as seed_store
    from functions.timelines import Fanout
    from functions.wiring import open_store

    settings = Settings.from_env()
    store = open_store(settings, create=True)
    # Home feeds filled here, as the local stack does after each write; a
    # table on AWS has its stream and fan-out function to do it.
    on_aws = settings.store == "dynamodb" and not settings.dynamodb_endpoint
    fanout = None if on_aws else Fanout(store)
    stats = seed_store(store, args.users, args.posts, seed=args.seed, fanout=fanout)
    print(
        f"Seeded {stats.users} users, {stats.posts} posts, {stats.follows} follows"
        f" in {stats.seconds:.1f}s."
    )
    if stats.demo_user:
        print(f"Log in as {stats.demo_user}, password {DEMO_PASSWORD} (every demo user's).")
    print(f"Now `{python_command()} build.py serve` builds the site and serves it.")
    return 0


def repair(args: argparse.Namespace) -> int:
    """Number the posts a failed fan-out left without an explore number, and
    fill their followers' home feeds (what the fan-out would have done)."""
    from functions.domain import PostCreated
    from functions.timelines import Fanout
    from functions.wiring import open_store

    settings = Settings.from_env()
    store = open_store(settings)
    posts = list(store.unnumbered_posts())
    events = Fanout(store).start([PostCreated.of(post) for post in posts])
    numbered = sum(1 for event in events if event.explore_seq)
    print(f"Repaired {numbered} of {len(posts)} posts left unnumbered ({settings.store}).")
    if numbered and settings.dynamodb_endpoint:  # no stream consumer locally
        print(f"Now `{python_command()} build.py build` puts them on explore's pages.")
    elif numbered:
        print("Their pages follow from the table's stream (the render function).")
    return 0


def python_command() -> str:
    """This Python as the shell reaches it from here (`.venv/bin/python` after
    README command 1), for the commands the tool suggests."""
    executable = Path(sys.executable)
    if executable.is_relative_to(Path.cwd()):
        return str(executable.relative_to(Path.cwd()))
    return "python3"


def publish(args: argparse.Namespace) -> int:
    from functions.sitegen.builder import MassDeletion, SiteBuilder
    from functions.wiring import make_renderer, open_store, s3_publisher

    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings,
        site_bucket=args.bucket or settings.site_bucket,
        distribution_id=args.distribution or settings.distribution_id,
    )
    if not settings.site_bucket:
        print("publish: give --bucket or set SITE_BUCKET", file=sys.stderr)
        return 2
    store = open_store(settings)
    builder = SiteBuilder(store, make_renderer(settings), s3_publisher(settings), args.workers)
    try:
        stats = builder.build_all(progress=True, allow_mass_delete=args.allow_mass_delete)
    except MassDeletion as exc:
        print(f"publish: {exc}", file=sys.stderr)
        return 1
    print(f"Published to s3://{settings.site_bucket}: {stats.summary()}")
    return 0


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the build: a busy port fails at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off only
    # on the connections of a socket that says it is TCP. Left on, every
    # response written in two parts (headers, then body) waits ~40 ms for
    # the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from functions.local import create_local_app
    from functions.sitegen.builder import MassDeletion

    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        print(f"serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    address = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}/"
    settings = Settings.from_env()
    print(f"Building {settings.site_dir} (store: {settings.store})…", flush=True)
    app = create_local_app(settings, build=False)
    try:
        stats = app.state.builder.build_all(progress=True)
    except MassDeletion as exc:  # meant? `build.py build --allow-mass-delete`, then serve
        print(f"serve: {exc} (with `build.py build`, then serve again)", file=sys.stderr)
        sock.close()
        return 1
    print(f"Built {settings.site_dir}: {stats.summary()}", flush=True)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:  # else uvicorn has said why and is exiting
                print(f"Microblog is ready on {address} (Ctrl+C stops it)", flush=True)

    # X-Forwarded-For/-Proto/-Host are believed only from the proxies that
    # FORWARDED_ALLOW_IPS names (uvicorn reads it): by default from no one,
    # so a client cannot pick its own address for the per-address throttles.
    trusted = bool(os.environ.get("FORWARDED_ALLOW_IPS"))
    app.state.trust_forwarded = trusted
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="info", proxy_headers=trusted
    )
    Server(config).run(sockets=[sock])
    return 0


def translate(args: argparse.Namespace) -> int:
    """The tutorial's `flask translate init|update|compile`, with Babel."""
    from functions import catalogs

    if args.action == "init":
        if not args.lang:
            print("translate init needs a language code, e.g. `translate init es`")
            return 2
        written = [catalogs.init(args.lang)]
    elif args.action == "update":
        written = catalogs.update()
    else:
        written = catalogs.compile_all()
    for path in written:
        print(f"wrote {path.relative_to(catalogs.ROOT)}")
    return 0


MASS_DELETE_HELP = (
    "remove pages even when that is most of the site, or the store has no users"
    " (refused otherwise: a wrong or empty store must not unpublish the site)"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="command")

    build_cmd = commands.add_parser("build", help="full build of the static site (the default)")
    build_cmd.add_argument("--workers", type=count(1), help="processes to render with (all cores)")
    build_cmd.add_argument("--allow-mass-delete", action="store_true", help=MASS_DELETE_HELP)
    build_cmd.add_argument(
        "--shard",
        type=shard,
        metavar="I/N",
        help="render only shard I of N (1 <= I <= N): a deterministic share of the pages,"
        " read from the store part by part; no assets, nothing removed",
    )
    build_cmd.set_defaults(run=build)

    serve_cmd = commands.add_parser("serve", help="build, then serve site/ and /api locally")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve_cmd.add_argument("--port", type=port, default=8000, help="port to listen on (8000)")
    serve_cmd.set_defaults(run=serve)

    seed_cmd = commands.add_parser("seed", help="write deterministic demo data into the store")
    seed_cmd.add_argument("--users", type=count(0), default=200, help="users to create (200)")
    seed_cmd.add_argument("--posts", type=count(0), default=5000, help="posts to create (5000)")
    seed_cmd.add_argument("--seed", type=int, default=1, help="random seed: same seed, same data")
    seed_cmd.set_defaults(run=seed)

    repair_cmd = commands.add_parser(
        "repair",
        help="number the posts a failed fan-out left out of explore, and fill their feeds"
        " (DynamoDB: reads the whole table)",
    )
    repair_cmd.set_defaults(run=repair)

    translate_cmd = commands.add_parser(
        "translate", help="translation catalogs: init LANG, update (extract), compile"
    )
    translate_cmd.add_argument("action", choices=("init", "update", "compile"))
    translate_cmd.add_argument("lang", nargs="?", help="the new language, for init (e.g. es)")
    translate_cmd.set_defaults(run=translate)

    publish_cmd = commands.add_parser("publish", help="full build straight to S3 (and CloudFront)")
    publish_cmd.add_argument("--bucket", help="the site's S3 bucket (SITE_BUCKET)")
    publish_cmd.add_argument(
        "--distribution", help="CloudFront distribution id to invalidate (DISTRIBUTION_ID)"
    )
    publish_cmd.add_argument(
        "--workers", type=count(1), help="processes to render with (all cores)"
    )
    publish_cmd.add_argument("--allow-mass-delete", action="store_true", help=MASS_DELETE_HELP)
    publish_cmd.set_defaults(run=publish)

    args = parser.parse_args(argv)
    if args.command == "seed" and args.posts and not args.users:
        seed_cmd.error("--posts needs at least one user: give --users 1 or more")
    return args.run(args) if args.command else build(args)


if __name__ == "__main__":
    sys.exit(main())
