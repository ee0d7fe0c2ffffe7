"""``durable serve``: the HTTP API and a worker for a user's app, under uvicorn.

Binds 127.0.0.1 unless told otherwise. Binding any other address needs a
bearer token: ``--token`` or ``$DURABLE_TOKEN``, else one is generated and
printed once on stderr. The socket is bound before the server starts, so
"listening on" is printed only once clients can connect, and a busy port is a
clear error rather than a traceback. Ctrl+C (SIGINT) stops it gracefully
(the worker finishes what it runs) and exits 0; SIGTERM stops it gracefully too.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import socket
from typing import Any

from durable._client.client import Client
from durable._worker.worker import Worker
from durable.cli.common import load_app, opened_store
from durable.cli.exits import ERROR, INVALID_INPUT, OK, CliError
from durable.cli.output import say

__all__ = ["is_loopback", "register"]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``serve`` to the `durable` parser."""
    parser = commands.add_parser(
        "serve",
        parents=[common],
        help="serve the HTTP API and run a worker for an app",
        description="Serve the Durable Functions-compatible HTTP API for the app's "
        "orchestrators and run a worker that executes them, until Ctrl+C.",
    )
    parser.add_argument("app", metavar="MODULE:APP", help="the App, e.g. myproject.flows:app")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000)")
    parser.add_argument(
        "--token",
        default=os.environ.get("DURABLE_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: $DURABLE_TOKEN; generated "
        "when binding a non-loopback address)",
    )
    parser.add_argument(
        "--trust-proxy",
        action="store_true",
        help="build links from X-Forwarded-Proto/Host (only behind a proxy that sets them)",
    )
    parser.add_argument(
        "--base-path",
        default="/runtime/webhooks/durabletask",
        help="where the API lives (default: /runtime/webhooks/durabletask)",
    )
    parser.add_argument("--max-body-bytes", type=int, default=1024 * 1024, help="largest body")
    parser.add_argument("--no-worker", action="store_true", help="serve the API only")
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level")
    parser.set_defaults(run=run_serve)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (``localhost`` counts)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run_serve(args: argparse.Namespace) -> int:
    """``durable serve``."""
    try:
        import uvicorn

        from durable.http import create_app
    except ImportError as error:
        raise CliError(
            f"serve needs the http extra: pip install 'durable[http]' ({error})", ERROR
        ) from None
    app = load_app(args.app)
    token = args.token
    if not is_loopback(args.host) and not token:
        token = secrets.token_urlsafe(32)
        say(f"{args.host} is not a loopback address, so a bearer token is required; generated:")
        say(f"  Authorization: Bearer {token}")
    with opened_store(args.store, must_exist=False) as store:
        worker = None if args.no_worker else Worker(app, store)
        try:
            api = create_app(
                Client(store, app=app),
                worker=worker,
                base_path=args.base_path,
                token=token,
                trust_proxy=args.trust_proxy,
                max_body_bytes=args.max_body_bytes,
            )
        except ValueError as error:
            raise CliError(str(error), INVALID_INPUT) from None
        sock = _bind(args.host, args.port)
        config = uvicorn.Config(
            api,
            log_level=args.log_level,
            proxy_headers=False,  # the app reads X-Forwarded-* itself, and only with --trust-proxy
            ws="none",
            lifespan="on",
        )
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        names = ", ".join(app.orchestrator_names) or "none"
        say(f"listening on http://{shown}:{port}{args.base_path}/ (orchestrators: {names})")
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown
            pass
        finally:
            sock.close()
            say("stopped")
    return OK


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        raise CliError(f"cannot resolve {host!r}: {error.strerror or error}", ERROR) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise CliError(
            f"cannot listen on {host}:{port}: {error.strerror or error}", ERROR
        ) from None
    return sock
