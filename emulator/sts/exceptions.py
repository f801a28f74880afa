"""STS's operation errors with their wire codes and HTTP statuses.

Names follow STS's API reference. Raising one leaves no credential
issued: the model validates the whole request first.
"""

from __future__ import annotations

from emulator.rpc.errors import RpcError


class StsError(RpcError):
    """Base of the STS-specific errors."""


class InvalidRoleArn(StsError):
    code = "InvalidParameter.RoleArn"
    default_message = (
        "The parameter RoleArn is wrong. It must look like acs:ram::<account-id>:role/<name>."
    )


class InvalidRoleSessionName(StsError):
    code = "InvalidParameter.RoleSessionName"
    default_message = (
        "The parameter RoleSessionName is wrong. It must be 2-64 characters of letters, "
        "digits, '.', '@', '-' and '_'."
    )


class InvalidDurationSeconds(StsError):
    code = "InvalidParameter.DurationSeconds"

    def __init__(self, minimum: int, maximum: int) -> None:
        super().__init__(f"The Min/Max value of DurationSeconds is {minimum}/{maximum} seconds.")


class InvalidPolicyGrammar(StsError):
    code = "InvalidParameter.PolicyGrammar"

    def __init__(self, detail: str) -> None:
        super().__init__(f"The parameter Policy has not a valid grammar: {detail}")


class PolicySizeExceeded(StsError):
    code = "InvalidParameter.PolicySize"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The size of Policy must be smaller than {limit} bytes.")


class NoPermission(StsError):
    status = 403
    code = "NoPermission"
    default_message = "You are not authorized to do this action. You should be authorized by RAM."
