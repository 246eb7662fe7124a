"""A real S3 API server (moto's) on 127.0.0.1, for the object storage suite.

``python tests/support/s3server.py PORT`` serves until it is terminated, or until the
process that started it is gone (so that a killed test session leaves no server behind).
:func:`s3_server` starts one, creates a bucket, and stops the server at the end, whatever
happens; :func:`s3_environment` also points the ``AWS_*`` environment variables at it.

Requests are handled one at a time: moto checks ``If-None-Match`` and then writes, in two
steps, where AWS S3 does both atomically; serving one request at a time gives the loopback
server the atomicity of the real service, which the race tests rely on.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

BUCKET = "runrecord-test"
"""The bucket :func:`s3_server` creates."""

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7LOOPBACK",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLOOPBACKKEY",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""What the loopback server accepts (any credentials work; these are planted to be found)."""


def _serve(port: int) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    server = make_server("127.0.0.1", port, one_at_a_time, threaded=True)
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        server.shutdown()

    threading.Thread(target=watch_parent, daemon=True).start()
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def s3_server(bucket: str = BUCKET) -> Iterator[str]:
    """Start the server, create ``bucket``, yield the endpoint URL; stop it at the end."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, __file__, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the S3 server exited with {server.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the S3 server did not start within 60 s")
            time.sleep(0.1)
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, **_boto_credentials())
        client.create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def s3_environment(bucket: str = BUCKET) -> Iterator[str]:
    """:func:`s3_server`, with the ``AWS_*`` environment variables pointing at it meanwhile.

    The code under test, and every process it starts, finds the server the standard way.
    The environment is restored at the end.
    """
    with s3_server(bucket) as endpoint:
        saved = dict(os.environ)
        os.environ.update(CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
        try:
            yield endpoint
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
