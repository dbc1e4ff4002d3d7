#!/usr/bin/env python3
"""Microblog's command line.

    python build.py [build]                 full build of the static site into site/
    python build.py serve [--host --port]   build, then serve site/ and /api on one origin

Settings come from the environment (see README): STORE, TABLE_NAME,
AWS_ENDPOINT_URL_DYNAMODB, VAR_DIR, SITE_DIR, SECRET_KEY.
"""

from __future__ import annotations

import argparse
import sys

from functions.config import Settings


def build(args: argparse.Namespace) -> int:
    from functions.config import open_store
    from functions.local import local_builder

    settings = Settings()
    store = open_store(settings, create=True)
    stats = local_builder(settings, store, workers=getattr(args, "workers", None)).build_all(
        progress=True
    )
    print(f"Built {settings.site_dir}: {stats.summary()}")
    return 0


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from functions.local import create_local_app

    settings = Settings()
    app = create_local_app(settings)
    print(f"Microblog on http://{args.host}:{args.port}/ (store: {settings.store})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="command")

    build_cmd = commands.add_parser("build", help="full build of the static site (the default)")
    build_cmd.add_argument("--workers", type=int, help="processes to render with (all cores)")
    build_cmd.set_defaults(run=build)

    serve_cmd = commands.add_parser("serve", help="build, then serve site/ and /api locally")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve_cmd.set_defaults(run=serve)

    args = parser.parse_args(argv)
    return args.run(args) if args.command else build(args)


if __name__ == "__main__":
    sys.exit(main())
