"""Cognito's OAuth2 token endpoint, client_credentials grant only.

Tokens are signed with moto's pool key (kid "dummy"), so they verify against the JWKS moto serves
at /<pool-id>/.well-known/jwks.json; `iss` is the issuer moto's openid-configuration announces."""

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from joserfc import jwt
from moto.cognitoidp.models import cognitoidp_backends

from .cognito import secrets_of

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def issue(
    pool_id: str | None, environ: dict[str, Any], body: bytes
) -> tuple[int, dict[str, Any], str | None]:
    """Returns (HTTP status, JSON body, account of the client's pool if found)."""
    form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
    client_id, secret = _client_credentials(environ.get("HTTP_AUTHORIZATION", ""), form)
    if not form.get("grant_type") or not client_id:
        return 400, {"error": "invalid_request"}, None

    found = _find_client(client_id, pool_id)
    if found is None:
        return 401, {"error": "invalid_client"}, None
    account, pool, client = found
    if secret is None or secret not in [entry.value for entry in secrets_of(client)]:
        return 401, {"error": "invalid_client"}, account
    if form["grant_type"] != "client_credentials":
        return 400, {"error": "unsupported_grant_type"}, account

    config = client.extended_config
    if "client_credentials" not in (config.get("AllowedOAuthFlows") or []) or not config.get(
        "AllowedOAuthFlowsUserPoolClient"
    ):
        return 400, {"error": "unauthorized_client"}, account
    allowed = config.get("AllowedOAuthScopes") or []
    scopes = form["scope"].split() if form.get("scope") else list(allowed)
    if not scopes or any(scope not in allowed for scope in scopes):
        return 400, {"error": "invalid_scope"}, account

    expires_in = _access_token_seconds(config)
    now = int(time.time())
    claims = {
        "sub": client.id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.id}",
        "exp": now + expires_in,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client.id,
    }
    token = jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, pool.json_web_key)
    return (
        200,
        {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"},
        account,
    )


def _client_credentials(
    authorization: str, form: dict[str, str]
) -> tuple[str | None, str | None]:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None, None
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def _find_client(client_id: str, pool_id: str | None) -> tuple[str, Any, Any] | None:
    """Searches every account and region: the token endpoint is unsigned."""
    for account, regions in list(cognitoidp_backends.items()):
        for backend in list(regions.values()):
            for pool in list(backend.user_pools.values()):
                if pool_id not in (None, pool.id):
                    continue
                client = pool.clients.get(client_id)
                if client is not None:
                    return account, pool, client
    return None


def _access_token_seconds(config: dict[str, Any]) -> int:
    validity = config.get("AccessTokenValidity")
    if not validity:
        return 3600
    unit = (config.get("TokenValidityUnits") or {}).get("AccessToken") or "hours"
    return int(validity) * UNIT_SECONDS.get(unit, 3600)
