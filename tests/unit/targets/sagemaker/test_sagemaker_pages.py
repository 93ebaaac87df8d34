"""reader._pages: how a listing shared by a run gives way to per-deployment reads.

The paginator here is a plain iterator of pages (what botocore's PageIterator yields), raising the
real botocore ClientError a denied or failing call raises; no server is needed for this seam.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from modeldeploy.errors import TargetError
from modeldeploy.targets.sagemaker.reader import _pages


def pages(*items: dict[str, Any], fail: str | None = None) -> Iterator[dict[str, Any]]:
    yield from items
    if fail:
        raise ClientError({"Error": {"Code": fail, "Message": f"{fail} for this call"}}, "ListModels")


def test_a_listing_within_its_budget_is_read_whole() -> None:
    got = list(_pages("listing", pages({"NextToken": "a"}, {"Models": []}), budget=2))
    assert got == [{"NextToken": "a"}, {"Models": []}]


def test_a_listing_longer_than_its_budget_stops_before_the_next_page() -> None:
    fetched: list[int] = []

    def counted() -> Iterator[dict[str, Any]]:
        for n in range(5):
            fetched.append(n)
            yield {"NextToken": str(n)}

    assert list(_pages("listing", counted(), budget=2)) == [{"NextToken": "0"}, {"NextToken": "1"}, None]
    assert fetched == [0, 1]


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException"])
def test_a_denied_shared_listing_gives_way_to_per_deployment_reads(code: str) -> None:
    assert list(_pages("listing", pages({"NextToken": "a"}, fail=code), budget=3)) == [{"NextToken": "a"}, None]


def test_a_denied_per_deployment_listing_is_a_located_error() -> None:
    with pytest.raises(TargetError, match="listing SageMaker Models: AccessDenied: AccessDenied for this call"):
        list(_pages("listing SageMaker Models", pages(fail="AccessDenied")))


def test_other_failures_of_a_shared_listing_are_errors() -> None:
    with pytest.raises(TargetError, match="ThrottlingException"):
        list(_pages("listing", pages(fail="ThrottlingException"), budget=3))
