"""Shared test setup: tests import the package from the checkout (installed editable)."""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group tests again under pytest 9.

    pytest-xdist 3.8 marks a grouped test by setting ``item._nodeid`` to ``<id>@<group>``;
    pytest 9 keeps node ids in ``item._id`` instead, so the mark is lost and a group's tests are
    spread over workers (each then starts its own sandbox pool, server or browser). Carry it over.
    """
    for item in items:
        grouped = item.__dict__.get("_nodeid")
        if grouped and grouped != item.nodeid:
            item._id = NodeId.parse(grouped)
