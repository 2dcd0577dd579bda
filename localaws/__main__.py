"""Command line: bind, announce the URL on stdout, serve until stopped."""

import argparse
import logging
import os
import signal
import sys
import threading

from werkzeug.serving import make_server

from . import apigateway, cognito, ssm
from .app import LocalAws


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="localaws", description="moto's server, extended for cogwire's tests"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 lets the OS choose")
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when standard input closes (the parent process died)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # Imported late: moto reads MOTO_PORT when it builds some URLs.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    apigateway.install()
    cognito.install()
    ssm.install()
    moto_app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        args.host,
        args.port,
        LocalAws(moto_app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    os.environ["MOTO_PORT"] = str(server.server_port)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()

    print(f"localaws listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _exit_on_stdin_eof() -> None:
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
