"""What moto 5.2.5's SSM gets wrong for cogwire, fixed on its classes in place.

DescribeParameters answers metadata as AWS does: each parameter's ARN, and never its value (moto
sends the value, without the ARN). install() is idempotent."""

from typing import Any

from moto.core.responses import ActionResult
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.ssm.utils import parameter_arn


def describe_parameters(self: SimpleSystemManagerResponse) -> ActionResult:
    page_size = 10
    token = self._get_param("NextToken")
    if hasattr(token, "strip"):
        token = token.strip()
    start = int(token or "0")
    result = self.ssm_backend.describe_parameters(
        self._get_param("Filters"), self._get_param("ParameterFilters")
    )
    response: dict[str, Any] = {"Parameters": []}
    for parameter in result[start : start + page_size]:
        described = parameter.describe_response_object(False)
        described.pop("Value", None)
        described["ARN"] = parameter_arn(parameter.account_id, self.region, parameter.name)
        response["Parameters"].append(described)
    if start + page_size < len(result):
        response["NextToken"] = str(start + page_size)
    return ActionResult(response)


def install() -> None:
    SimpleSystemManagerResponse.describe_parameters = describe_parameters  # type: ignore[method-assign]
