"""``gradstage serve``: run the app with uvicorn."""

from __future__ import annotations

import uvicorn

from gradstage.settings import Settings, get_settings


def serve(host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    """Serve until interrupted; command-line options override environment settings."""
    from gradstage.api.app import create_app

    settings: Settings = get_settings()
    updates = {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
    if updates:
        settings = settings.model_copy(update=updates)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # gradstage.access logs every request as JSON instead
        proxy_headers=settings.trust_forwarded_for,
    )
    return 0
