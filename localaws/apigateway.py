"""What moto 5.2.5's API Gateway (REST APIs, v1) lacks for cogwire, added on its classes in place.

- UpdateMethod (moto has none): JSON patch operations on `/authorizationType` and
  `/authorizerId` (`replace`) and `/authorizationScopes` (`add` and `remove` one scope a
  operation), as AWS takes them; any other path is a BadRequestException. A Cognito user pool
  method needs an authorizer of the API; a missing resource or method is a NotFoundException.
- UpdateAuthorizer on `/providerARNs` (moto raises a bare Exception, a 500): `add` one ARN (an
  ARN already there is kept once), `remove` one (not the last of a Cognito user pool authorizer).
install() is idempotent."""

import json
from typing import Any

from moto.apigateway.exceptions import BadRequestException, MethodNotFoundException
from moto.apigateway.models import Authorizer
from moto.apigateway.responses import APIGatewayResponse

AUTHORIZATION_TYPES = ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS")

_original_authorizer_operations = Authorizer.apply_operations


def _apply_method_operations(method: Any, api: Any, operations: list[dict[str, Any]]) -> None:
    for operation in operations:
        op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
        if path == "/authorizationType" and op == "replace":
            if value not in AUTHORIZATION_TYPES:
                raise BadRequestException(f"Invalid authorization type specified: {value}")
            method.authorization_type = value
        elif path == "/authorizerId" and op == "replace":
            method.authorizer_id = value or None
        elif path == "/authorizationScopes" and op in ("add", "remove"):
            scopes = list(method.authorization_scopes or [])
            if op == "add" and value not in scopes:
                scopes.append(value)
            if op == "remove" and value in scopes:
                scopes.remove(value)
            method.authorization_scopes = scopes
        else:
            raise BadRequestException(f"Invalid patch path {path} for operation {op}")
    if method.authorization_type in ("COGNITO_USER_POOLS", "CUSTOM"):
        if method.authorizer_id not in api.authorizers:
            raise BadRequestException(
                "Invalid authorizer ID specified. Setting the authorization type to "
                f"{method.authorization_type} requires a valid authorizer."
            )


def update_method(self: APIGatewayResponse) -> str:
    parts = self.path.split("/")
    function_id, resource_id, method_type = parts[2], parts[4], parts[6]
    api = self.backend.get_rest_api(function_id)
    resource = self.backend.get_resource(function_id, resource_id)
    method = resource.resource_methods.get(method_type)
    if method is None:
        raise MethodNotFoundException()
    operations = self._get_param("patchOperations") or []
    # All or nothing: applied to a copy of the fields first.
    saved = (method.authorization_type, method.authorizer_id, method.authorization_scopes)
    try:
        _apply_method_operations(method, api, operations)
    except BadRequestException:
        method.authorization_type, method.authorizer_id, method.authorization_scopes = saved
        raise
    return json.dumps(method.to_json())


def apply_authorizer_operations(self: Authorizer, patch_operations: list[dict[str, Any]]) -> Any:
    others = []
    for operation in patch_operations:
        if operation.get("path") != "/providerARNs":
            others.append(operation)
            continue
        op, value = operation.get("op"), operation.get("value")
        arns = list(self.provider_arns or [])
        if op == "add":
            if value not in arns:
                arns.append(value)
        elif op == "remove":
            if value in arns and len(arns) == 1 and self.type == "COGNITO_USER_POOLS":
                raise BadRequestException(
                    "A Cognito user pool authorizer needs at least one provider ARN"
                )
            if value in arns:
                arns.remove(value)
        else:
            raise BadRequestException(f"Invalid patch operation {op} for /providerARNs")
        self.provider_arns = arns
    return _original_authorizer_operations(self, others)


def install() -> None:
    APIGatewayResponse.update_method = update_method  # type: ignore[attr-defined]
    Authorizer.apply_operations = apply_authorizer_operations  # type: ignore[method-assign]
