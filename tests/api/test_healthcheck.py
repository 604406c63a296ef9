"""``gradstage healthcheck`` probes the server its settings describe, not a fixed address."""

from __future__ import annotations

import pytest
from gradstage.api.healthcheck import health_url
from gradstage.settings import Settings


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:9000/healthz"),
        ("::", "http://[::1]:9000/healthz"),
        ("127.0.0.1", "http://127.0.0.1:9000/healthz"),
        ("10.1.2.3", "http://10.1.2.3:9000/healthz"),
        ("::1", "http://[::1]:9000/healthz"),
        ("localhost", "http://localhost:9000/healthz"),
    ],
)
def test_the_probe_follows_the_port_and_reaches_every_interface_on_loopback(
    host: str, url: str
) -> None:
    assert health_url(Settings(host=host, port=9000)) == url
