"""No Azure credentials is one line and a hint, not azure-identity's screenful.

Narrowest honest seam: the real azure-core/azure-identity exception types and the real MLClient
constructor (no request is sent); the failing token fetch itself needs a network probe of the
managed-identity endpoint, which a test cannot run reliably."""

from __future__ import annotations

import logging

import pytest

from modeldeploy.errors import TargetError

LONG = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables are not fully configured.\n"
    "\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable.\n"
    "\tAzureCliCredential: Azure CLI not found on path\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines here at https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


def test_missing_credentials_are_one_line_with_a_hint():
    pytest.importorskip("azure.core")
    from azure.core.exceptions import ClientAuthenticationError

    from modeldeploy.targets.azureml.client import AzureMLClient

    client = AzureMLClient(object(), "online")

    def boom():
        raise ClientAuthenticationError(message=LONG)

    with pytest.raises(TargetError) as e:
        client._get("list model iris", boom)
    lines = e.value.lines()
    assert lines[0] == "error: Azure ML list model iris: no Azure credentials found [MD700]"
    assert lines[1].startswith("hint: run 'az login'") and len(lines) == 2
    assert "EnvironmentCredential" not in "\n".join(lines)
    with pytest.raises(TargetError) as e:
        client._call("create endpoint", boom)
    assert e.value.message == "Azure ML create endpoint: no Azure credentials found"


def test_other_failures_keep_the_service_message():
    from modeldeploy.targets.azureml.client import AzureMLClient

    def boom():
        raise RuntimeError("quota exceeded\n  for Standard_DS3_v2")

    with pytest.raises(TargetError) as e:
        AzureMLClient(object(), "online")._call("create deployment", boom)
    assert e.value.message == "Azure ML create deployment failed: quota exceeded for Standard_DS3_v2"


def test_connect_quiets_azure_identity_unless_the_caller_configured_it():
    pytest.importorskip("azure.ai.ml")
    from modeldeploy.targets.azureml.client import AzureMLClient

    logger = logging.getLogger("azure.identity")
    before = logger.level
    try:
        logger.setLevel(logging.NOTSET)
        AzureMLClient.connect("00000000-0000-0000-0000-000000000000", "rg", "ws", "online")
        assert logger.level == logging.ERROR
        logger.setLevel(logging.DEBUG)
        AzureMLClient.connect("00000000-0000-0000-0000-000000000000", "rg", "ws", "online")
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)
