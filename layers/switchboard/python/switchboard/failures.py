"""Which exceptions are infrastructure trouble, worth a retry later, and which are not.

A queue-driven function retries a message whose handling raised: right for AWS throttling, a
5xx, a dropped connection or a timeout talking to AWS, which a later attempt may get past; wrong
for anything the message itself causes (a date out of range, a value no code path expected, a
conditional write that lost), which fails the same way on every attempt and, in a FIFO queue,
holds up every later message of its group meanwhile. `is_infrastructure` tells them apart.
"""

from __future__ import annotations

import sys
from typing import Any

# Error codes of AWS answers a later attempt may not get: throttling and the service's own trouble.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "TransactionInProgressException",
        "KMSThrottlingException",
    }
)
SERVICE_TROUBLE_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestExpired",
    }
)
# The deployment's trouble, not the message's: missing permissions, credentials or resources.
# Retrying is right (the message succeeds once the deployment is fixed; until then it waits and
# then lands in the dead-letter queue instead of being recorded as the workflow's failure).
DEPLOYMENT_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)
TRANSIENT_CODES = THROTTLING_CODES | SERVICE_TROUBLE_CODES | DEPLOYMENT_CODES
# Why DynamoDB cancels a transaction: these reasons pass with time, a failed condition does not.
TRANSIENT_CANCELLATIONS = frozenset(
    {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


class InfrastructureError(RuntimeError):
    """Raised by Switchboard's adapters when AWS kept failing in a way a later attempt may fix
    (keys a batch read kept unprocessed, for instance)."""


def is_infrastructure(exc: BaseException) -> bool:
    """True for AWS throttling, 5xx, connection trouble, timeouts talking to AWS, missing
    credentials or permissions, and InfrastructureError; False for everything else, including
    a ConditionalCheckFailed, an invalid request (ValidationException, ParamValidationError)
    and any exception raised by Switchboard's own code on what a message holds."""
    if isinstance(exc, InfrastructureError):
        return True
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is None:  # botocore never loaded: no exception can have come from it
        return False
    if isinstance(exc, botocore.ClientError):
        return _transient_answer(exc.response or {})
    if isinstance(exc, botocore.ParamValidationError):
        return False  # the request as built from the message is invalid: the same every time
    # Connection and read timeouts, dropped connections, credentials that could not be loaded.
    return isinstance(exc, botocore.BotoCoreError)


def _transient_answer(response: dict[str, Any]) -> bool:
    code = str((response.get("Error") or {}).get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    if code == "TransactionCanceledException":
        reasons = {str((r or {}).get("Code")) for r in response.get("CancellationReasons") or []}
        if "ConditionalCheckFailed" in reasons:
            return False
        return bool(reasons & TRANSIENT_CANCELLATIONS)
    if code in TRANSIENT_CODES:
        return True
    return isinstance(status, int) and (status >= 500 or status == 429)
