"""AWS credentials that are missing or refused are one line and a hint, whichever call meets them.

Narrowest honest seam: botocore's own exception types, raised by the callable that `call`/`find`
wrap (a rejected key needs AWS itself to reject it; a missing one is run for real in
tests/cli/test_newcomer_errors.py)."""

from __future__ import annotations

import pytest

from modeldeploy.errors import TargetError


def _raise(exc: BaseException):
    def fn(**_):
        raise exc

    return fn


def test_missing_and_refused_credentials_say_so_with_a_hint() -> None:
    from botocore.exceptions import ClientError, NoCredentialsError

    from modeldeploy.targets.sagemaker.aws import call, find

    with pytest.raises(TargetError) as e:
        call("endpoint iris", _raise(NoCredentialsError()))
    assert e.value.lines()[0] == "error: endpoint iris: no AWS credentials found [MD700]"
    assert "plan --against DIR or git:REF needs no credentials" in e.value.lines()[1]
    refused = ClientError(
        {
            "Error": {
                "Code": "UnrecognizedClientException",
                "Message": "The security token included in the request is invalid.",
            }
        },
        "DescribeEndpoint",
    )
    with pytest.raises(TargetError) as e:
        find("endpoint iris", _raise(refused))
    assert (
        e.value.message
        == "endpoint iris: AWS refused the credentials: The security token included in the request is invalid."
    )
    assert e.value.hint and e.value.hint.startswith("run 'aws configure'")
    # any other service error keeps its code and message, and no credentials hint
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DescribeEndpoint")
    with pytest.raises(TargetError) as e:
        call("endpoint iris", _raise(throttled))
    assert (e.value.message, e.value.hint) == ("endpoint iris: ThrottlingException: Rate exceeded", None)
