"""``gradstage serve``: run the app with uvicorn (one process; scale with replicas)."""

from __future__ import annotations

import uvicorn

from gradstage.settings import Settings

KEEP_ALIVE_SECONDS = 65


def serve(host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    """Serve until interrupted; command-line options override environment settings.

    ``workers`` is the number of programs run at once (sandbox children), not of server
    processes: the server is one asyncio process, and more capacity comes from more replicas.
    """
    from gradstage.api.app import create_app

    overrides = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # gradstage.access logs every request as JSON instead
        proxy_headers=settings.trust_forwarded_for,
        server_header=False,
        # Longer than the idle timeout of common load balancers (60 s), so the server never
        # closes a kept-alive connection just as a client or proxy sends on it.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0
