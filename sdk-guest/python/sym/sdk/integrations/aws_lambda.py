"""AWS Lambda, through the flow environment's `aws` integration (Sym's
`sym.sdk.integrations.aws_lambda`). The host signs each call with the integration's key; the
plugin never holds it."""

from sym.sdk.exceptions import AWSLambdaError  # noqa: F401 - Sym's module re-exports it
from sym.sdk.integrations._call import call


def invoke(arn, payload=None):
    """Invokes the function `arn` with `payload` and waits: answers what it returned. Raises
    `AWSLambdaError` if the function raised or AWS refused the call."""
    return call("aws", "invoke", {"arn": arn, "payload": payload if payload is not None else {}}, AWSLambdaError)


def invoke_async(arn, payload=None):
    """Queues an invocation of the function `arn` with `payload` without waiting; answers
    whether AWS accepted it."""
    return bool(call("aws", "invoke_async", {"arn": arn, "payload": payload if payload is not None else {}}, AWSLambdaError))
