"""The WSGI middleware in front of moto: control endpoint, OAuth2 token endpoint, accounting,
fault injection and quotas for the AWS API calls that pass through to moto."""

import io
import json
import re
import socket
import struct
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.cognitoidp.responses import (
    CognitoIdpJsonWebKeyResponse,
    CognitoIdpOpenIdConfigurationResponse,
)
from moto.core import DEFAULT_ACCOUNT_ID

from . import oauth2
from .traffic import CallCounter, ConfigError, Faults, Quotas

StartResponse = Callable[..., Any]

# X-Amz-Target prefix -> (service, throttling error, internal error)
SERVICES = {
    "AWSCognitoIdentityProviderService": (
        "cognito-idp",
        ("TooManyRequestsException", "Too many requests"),
        ("InternalErrorException", "Internal error (injected by localaws)"),
    ),
    "AmazonSSM": (
        "ssm",
        ("ThrottlingException", "Rate exceeded"),
        ("InternalServerError", "Internal error (injected by localaws)"),
    ),
    "secretsmanager": (
        "secretsmanager",
        ("ThrottlingException", "Rate exceeded"),
        ("InternalServiceError", "Internal error (injected by localaws)"),
    ),
}
DEFAULT_ERRORS = (
    None,
    ("ThrottlingException", "Rate exceeded"),
    ("InternalFailure", "Internal error (injected by localaws)"),
)

# API Gateway v2 (REST-JSON, no X-Amz-Target): (method, path) -> the operation, for accounting
# and faults as the JSON services get them.
APIGATEWAY_V2 = [
    ("GET", re.compile(r"^/v2/apis/[^/]+/authorizers/[^/]+$"), "GetAuthorizer"),
    ("PATCH", re.compile(r"^/v2/apis/[^/]+/authorizers/[^/]+$"), "UpdateAuthorizer"),
    ("GET", re.compile(r"^/v2/apis/[^/]+/routes$"), "GetRoutes"),
    ("PATCH", re.compile(r"^/v2/apis/[^/]+/routes/[^/]+$"), "UpdateRoute"),
]
# API Gateway REST APIs (v1), likewise. AWS names the authorizer calls as v2's.
APIGATEWAY_V1 = [
    ("GET", re.compile(r"^/restapis/[^/]+/authorizers/[^/]+/?$"), "GetAuthorizer"),
    ("PATCH", re.compile(r"^/restapis/[^/]+/authorizers/[^/]+/?$"), "UpdateAuthorizer"),
    ("GET", re.compile(r"^/restapis/[^/]+/resources$"), "GetResources"),
    ("PATCH", re.compile(r"^/restapis/[^/]+/resources/[^/]+/methods/[^/]+/?$"), "UpdateMethod"),
    ("GET", re.compile(r"^/restapis/[^/]+/stages/[^/]+/?$"), "GetStage"),
    ("POST", re.compile(r"^/restapis/[^/]+/deployments$"), "CreateDeployment"),
]
APIGATEWAY_ERRORS = (
    "apigateway",
    ("TooManyRequestsException", "Too Many Requests"),
    ("InternalServerError", "Internal error (injected by localaws)"),
)

SERVICES["apigateway"] = APIGATEWAY_ERRORS

TOKEN_PATH = re.compile(r"^(?:/(?P<pool>[\w-]+_\w+))?/oauth2/token$")
JWKS_PATH = re.compile(r"^/[\w-]+_\w+/\.well-known/jwks\.json$")
OPENID_PATH = re.compile(r"^/[\w-]+_\w+/\.well-known/openid-configuration$")
ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")
ACCOUNT_ID = re.compile(r"^\d{12}$")


def respond(
    start_response: StartResponse,
    status: int,
    body: Any,
    headers: Iterable[tuple[str, str]] = (),
    content_type: str = "application/json",
) -> list[bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(
        status, "Error"
    )
    start_response(
        f"{status} {reason}",
        [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def read_body(environ: dict[str, Any]) -> bytes:
    """Reads the body and puts it back, so that moto can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def account_of(environ: dict[str, Any]) -> str:
    """moto 5.2.5 takes the account from an `x-moto-account-id` header (or an IAM access key it
    created). Tests isolate themselves with 12-digit access keys, so we turn one into that header."""
    explicit = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if explicit:
        return explicit
    match = ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match and ACCOUNT_ID.match(match.group(1)):
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = match.group(1)
        return match.group(1)
    return DEFAULT_ACCOUNT_ID


def drop_connection(environ: dict[str, Any]) -> None:
    """Closes the client's connection without a response (RST where the OS allows)."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug treats a ConnectionError as "the client went away" and sends nothing.
    raise ConnectionResetError("localaws: injected connection reset")


class LocalAws:
    def __init__(self, moto_app: Callable[..., Iterable[bytes]]) -> None:
        self.moto_app = moto_app
        self.calls = CallCounter()
        self.faults = Faults()
        self.quotas = Quotas()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/_localaws/"):
            return self.control(method, path, environ, start_response)
        token_path = TOKEN_PATH.match(path)
        if token_path and method == "POST":
            return self.token(token_path.group("pool"), environ, start_response)
        if method == "GET" and JWKS_PATH.match(path):
            # moto needs a signed request to route this; a verifier sends a plain GET.
            return respond(start_response, 200, CognitoIdpJsonWebKeyResponse.json_web_key)
        if method == "GET" and OPENID_PATH.match(path):
            url = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}{path}"
            _, _, body = CognitoIdpOpenIdConfigurationResponse.serve_openid_configuration(
                None, url, {}
            )
            return respond(start_response, 200, body)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target and "." in target:
            return self.api_call(target, environ, start_response)
        if path.startswith("/v2/apis"):
            operation = next(
                (name for verb, pattern, name in APIGATEWAY_V2 if method == verb and pattern.match(path)),
                "ApiGatewayV2",
            )
            return self.api_call(f"apigateway.{operation}", environ, start_response)
        if path.startswith("/restapis"):
            operation = next(
                (name for verb, pattern, name in APIGATEWAY_V1 if method == verb and pattern.match(path)),
                "ApiGateway",
            )
            return self.api_call(f"apigateway.{operation}", environ, start_response)
        return self.moto_app(environ, start_response)

    def api_call(
        self, target: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        prefix, operation = target.rsplit(".", 1)
        service, throttling, internal = SERVICES.get(prefix, DEFAULT_ERRORS)
        account = account_of(environ)
        body = read_body(environ)
        self.calls.add(account, operation, "calls")

        fault = self.faults.decide(account, operation)
        if fault.latency_seconds:
            time.sleep(fault.latency_seconds)
        if fault.outcome == "throttle":
            self.calls.add(account, operation, "throttled")
            return self.aws_error(start_response, 400, throttling)
        if fault.outcome == "error":
            self.calls.add(account, operation, "injected_errors")
            if fault.error:
                code, status, message = fault.error
                return self.aws_error(start_response, status, (code, message))
            return self.aws_error(start_response, 500, internal)
        if service == "cognito-idp" and not self.quotas.admit(
            account, operation, pool_of(body)
        ):
            self.calls.add(account, operation, "throttled")
            return self.aws_error(start_response, 400, throttling)

        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        result = self.moto_app(environ, capture)
        try:
            chunks = list(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured
        if int(status.split()[0]) >= 400:
            self.calls.add(account, operation, "failed")
        if fault.outcome == "reset":
            self.calls.add(account, operation, "resets")
            drop_connection(environ)
        start_response(status, headers)
        return chunks

    @staticmethod
    def aws_error(
        start_response: StartResponse, status: int, error: tuple[str, str]
    ) -> list[bytes]:
        code, message = error
        return respond(
            start_response,
            status,
            {"__type": code, "message": message},
            headers=[("x-amzn-ErrorType", code), ("x-amzn-RequestId", str(uuid.uuid4()))],
            content_type="application/x-amz-json-1.1",
        )

    def token(
        self, pool_id: str | None, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        status, body, account = oauth2.issue(pool_id, environ, read_body(environ))
        self.calls.add(account or DEFAULT_ACCOUNT_ID, "OAuth2Token", "calls")
        if status >= 400:
            self.calls.add(account or DEFAULT_ACCOUNT_ID, "OAuth2Token", "failed")
        return respond(start_response, status, body)

    def control(
        self, method: str, path: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        account = query.get("account", [None])[0]
        route = (method, path.rstrip("/"))
        try:
            config = json.loads(read_body(environ) or b"{}") if method == "POST" else None
            if route == ("GET", "/_localaws/calls"):
                return respond(start_response, 200, self.calls.snapshot(account))
            if route == ("POST", "/_localaws/calls/reset"):
                self.calls.reset(account)
            elif route == ("GET", "/_localaws/faults"):
                return respond(start_response, 200, {"faults": self.faults.describe()})
            elif route == ("POST", "/_localaws/faults"):
                self.faults.set(config)
            elif route == ("DELETE", "/_localaws/faults"):
                self.faults.clear(account)
            elif route == ("GET", "/_localaws/quotas"):
                return respond(start_response, 200, {"quotas": self.quotas.describe()})
            elif route == ("POST", "/_localaws/quotas"):
                self.quotas.set(config)
            elif route == ("DELETE", "/_localaws/quotas"):
                self.quotas.clear(account)
            elif route == ("POST", "/_localaws/reset"):
                self.calls.reset(None)
                self.faults.clear(None)
                self.quotas.clear(None)
            elif route == ("GET", "/_localaws/health"):
                pass
            else:
                return respond(start_response, 404, {"error": f"no route {method} {path}"})
        except (ConfigError, ValueError) as error:
            return respond(start_response, 400, {"error": str(error)})
        return respond(start_response, 200, {"ok": True})


def pool_of(body: bytes) -> str | None:
    try:
        pool = json.loads(body or b"{}").get("UserPoolId")
    except (ValueError, AttributeError):
        return None
    return pool if isinstance(pool, str) else None
