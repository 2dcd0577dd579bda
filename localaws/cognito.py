"""What moto 5.2.5's Cognito lacks or gets wrong for cogwire, added to its classes in place.

moto's response class finds an operation's method by its snake_case name when the call arrives,
so a method set on CognitoIdpResponse here is an operation. install() is idempotent."""

import re
import secrets
import string
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
    CognitoResourceServer,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

STANDARD_SCOPES = {"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}
# The defaults moto's CognitoIdpUserPoolClient starts from; UpdateUserPoolClient resets to them.
CLIENT_DEFAULTS = {
    "AllowedOAuthFlowsUserPoolClient": False,
    "AuthSessionValidity": 3,
    "EnablePropagateAdditionalUserContextData": False,
    "EnableTokenRevocation": True,
    "RefreshTokenValidity": 30,
}
MAX_CLIENT_SECRETS = 2
CLIENT_SECRET = re.compile(r"^[\w+]{24,64}$")


class ScopeDoesNotExistException(JsonRESTError):
    def __init__(self, scope: str) -> None:
        super().__init__("ScopeDoesNotExistException", f"Invalid scope requested: {scope}")


class LimitExceededException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("LimitExceededException", message)


@dataclass
class ClientSecret:
    id: str
    value: str
    created: datetime
    generated: bool

    def to_json(self, with_value: bool = False) -> dict[str, Any]:
        descriptor: dict[str, Any] = {
            "ClientSecretId": self.id,
            "ClientSecretCreateDate": self.created,
        }
        if with_value and self.generated:
            descriptor["ClientSecretValue"] = self.value
        return descriptor


def secrets_of(client: CognitoIdpUserPoolClient) -> list[ClientSecret]:
    """A client's current secrets, oldest first; moto's own `secret` is the first of them."""
    if not hasattr(client, "localaws_secrets"):
        client.localaws_secrets = (
            [_new_secret(client, client.secret, generated=True)] if client.generate_secret else []
        )
    return client.localaws_secrets


def _new_secret(client: CognitoIdpUserPoolClient, value: str, generated: bool) -> ClientSecret:
    created = utcnow()
    # AWS documents the id as <client-id>--<epoch-create-time>; milliseconds keep ids distinct.
    return ClientSecret(f"{client.id}--{int(time.time() * 1000)}", value, created, generated)


def _check_scopes(pool: CognitoIdpUserPool, scopes: list[str] | None) -> None:
    defined = {
        f"{server.identifier}/{scope['ScopeName']}"
        for server in pool.resource_servers.values()
        for scope in server.scopes or []
    }
    for scope in scopes or []:
        if scope not in STANDARD_SCOPES and scope not in defined:
            raise ScopeDoesNotExistException(scope)


def _client(backend: CognitoIdpBackend, user_pool_id: str, client_id: str) -> Any:
    client = backend.describe_user_pool(user_pool_id).clients.get(client_id)
    if client is None:
        raise ResourceNotFoundError(client_id)
    return client


# Backend ------------------------------------------------------------------------------------


def _resource_server(
    backend: CognitoIdpBackend, user_pool_id: str, identifier: str
) -> CognitoResourceServer:
    return backend.describe_resource_server(user_pool_id, identifier)


def update_resource_server(
    self: CognitoIdpBackend,
    user_pool_id: str,
    identifier: str,
    name: str,
    scopes: list[dict[str, str]] | None,
) -> CognitoResourceServer:
    server = _resource_server(self, user_pool_id, identifier)
    server.name = name
    server.scopes = scopes or []
    return server


def delete_resource_server(self: CognitoIdpBackend, user_pool_id: str, identifier: str) -> None:
    _resource_server(self, user_pool_id, identifier)
    del self.user_pools[user_pool_id].resource_servers[identifier]


_moto_list_resource_servers = CognitoIdpBackend.list_resource_servers
_moto_create_user_pool_client = CognitoIdpBackend.create_user_pool_client


def list_resource_servers(self: CognitoIdpBackend, user_pool_id: str, **kwargs: Any) -> Any:
    # moto indexes the pool directly and answers a missing one with a 500.
    self.describe_user_pool(user_pool_id)
    return _moto_list_resource_servers(self, user_pool_id, **kwargs)


def create_user_pool_client(
    self: CognitoIdpBackend,
    user_pool_id: str,
    generate_secret: bool,
    extended_config: dict[str, Any],
) -> CognitoIdpUserPoolClient:
    _check_scopes(self.describe_user_pool(user_pool_id), extended_config.get("AllowedOAuthScopes"))
    client = _moto_create_user_pool_client(self, user_pool_id, generate_secret, extended_config)
    secrets_of(client)
    return client


def update_user_pool_client(
    self: CognitoIdpBackend,
    user_pool_id: str,
    client_id: str,
    extended_config: dict[str, Any],
) -> CognitoIdpUserPoolClient:
    """AWS replaces the configuration: a field left out goes back to its default."""
    client = _client(self, user_pool_id, client_id)
    _check_scopes(self.user_pools[user_pool_id], extended_config.get("AllowedOAuthScopes"))
    name = client.extended_config.get("ClientName")
    client.extended_config = {**CLIENT_DEFAULTS, "ClientName": name, **extended_config}
    return client


def add_user_pool_client_secret(
    self: CognitoIdpBackend, user_pool_id: str, client_id: str, value: str | None
) -> ClientSecret:
    client = _client(self, user_pool_id, client_id)
    current = secrets_of(client)
    if not client.generate_secret:
        raise InvalidParameterException(f"Client {client_id} has no client secret.")
    if value is not None and not CLIENT_SECRET.match(value):
        raise InvalidParameterException(
            "ClientSecret must be 24 to 64 characters of letters, digits, _ and +."
        )
    if len(current) >= MAX_CLIENT_SECRETS:
        raise LimitExceededException(
            f"Client {client_id} already has {MAX_CLIENT_SECRETS} client secrets."
        )
    alphabet = string.ascii_lowercase + string.digits
    generated = value is None
    secret = _new_secret(
        client, value or "".join(secrets.choice(alphabet) for _ in range(52)), generated
    )
    current.append(secret)
    return secret


def list_user_pool_client_secrets(
    self: CognitoIdpBackend, user_pool_id: str, client_id: str
) -> list[ClientSecret]:
    return list(secrets_of(_client(self, user_pool_id, client_id)))


def delete_user_pool_client_secret(
    self: CognitoIdpBackend, user_pool_id: str, client_id: str, secret_id: str
) -> None:
    client = _client(self, user_pool_id, client_id)
    current = secrets_of(client)
    secret = next((entry for entry in current if entry.id == secret_id), None)
    if secret is None:
        raise ResourceNotFoundError(f"Client secret {secret_id} does not exist.")
    if len(current) == 1:
        raise InvalidParameterException("The last client secret of a client cannot be deleted.")
    current.remove(secret)
    # DescribeUserPoolClient shows the oldest remaining secret (AWS does not say which it shows).
    client.secret = current[0].value


# Responses ----------------------------------------------------------------------------------


def update_resource_server_response(self: CognitoIdpResponse) -> ActionResult:
    server = self.backend.update_resource_server(
        self._get_param("UserPoolId"),
        self._get_param("Identifier"),
        self._get_param("Name"),
        self._get_param("Scopes"),
    )
    return ActionResult({"ResourceServer": server.to_json()})


def delete_resource_server_response(self: CognitoIdpResponse) -> EmptyResult:
    self.backend.delete_resource_server(
        self._get_param("UserPoolId"), self._get_param("Identifier")
    )
    return EmptyResult()


def add_user_pool_client_secret_response(self: CognitoIdpResponse) -> ActionResult:
    secret = self.backend.add_user_pool_client_secret(
        self._get_param("UserPoolId"),
        self._get_param("ClientId"),
        self._get_param("ClientSecret"),
    )
    return ActionResult({"ClientSecretDescriptor": secret.to_json(with_value=True)})


def list_user_pool_client_secrets_response(self: CognitoIdpResponse) -> ActionResult:
    current = self.backend.list_user_pool_client_secrets(
        self._get_param("UserPoolId"), self._get_param("ClientId")
    )
    return ActionResult({"ClientSecrets": [secret.to_json() for secret in current]})


def delete_user_pool_client_secret_response(self: CognitoIdpResponse) -> EmptyResult:
    self.backend.delete_user_pool_client_secret(
        self._get_param("UserPoolId"),
        self._get_param("ClientId"),
        self._get_param("ClientSecretId"),
    )
    return EmptyResult()


def install() -> None:
    for function in (
        update_resource_server,
        delete_resource_server,
        list_resource_servers,
        create_user_pool_client,
        update_user_pool_client,
        add_user_pool_client_secret,
        list_user_pool_client_secrets,
        delete_user_pool_client_secret,
    ):
        setattr(CognitoIdpBackend, function.__name__, function)
    for function in (
        update_resource_server_response,
        delete_resource_server_response,
        add_user_pool_client_secret_response,
        list_user_pool_client_secrets_response,
        delete_user_pool_client_secret_response,
    ):
        setattr(CognitoIdpResponse, function.__name__.removesuffix("_response"), function)
