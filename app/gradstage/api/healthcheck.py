"""``gradstage healthcheck``: does the server these settings describe answer ``/healthz``?

Containers run it as their health check, so the probe follows ``GRADSTAGE_HOST`` and
``GRADSTAGE_PORT`` as ``gradstage serve`` does instead of assuming port 8000.
"""

from __future__ import annotations

import sys
import urllib.request

from gradstage.settings import Settings, load_settings

# A server bound to every interface is reached on the loopback one.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def health_url(settings: Settings) -> str:
    """The ``/healthz`` address of the server these settings start."""
    host = _LOOPBACK.get(settings.host, settings.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/healthz"


def healthcheck(timeout: float = 4.0) -> int:
    """0 when the server answers ``/healthz`` with 200 within ``timeout`` seconds, else 1."""
    url = health_url(load_settings())
    # No proxy: HTTP_PROXY in a container's environment must not send the probe elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return 0 if response.status == 200 else 1
    except (OSError, ValueError) as exc:  # refused, timed out, an HTTP error status
        print(f"gradstage: {url}: {exc}", file=sys.stderr)
        return 1
