"""``gradstage serve``: run the app with uvicorn (one process; scale with replicas)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Collection

import uvicorn

from gradstage.settings import Settings, SettingsError, load_settings, setting_name

KEEP_ALIVE_SECONDS = 65


def serve(host: str | None = None, port: int | None = None, workers: int | None = None) -> int:
    """Serve until interrupted; command-line options override environment settings.

    ``workers`` is the number of programs run at once (sandbox children), not of server
    processes: the server is one asyncio process, and more capacity comes from more replicas.
    Raises ``SettingsError`` before anything starts when a setting, or the address, is unusable.
    """
    options = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    settings = load_settings(**options)
    check_address(settings, options)
    from gradstage.api.app import create_app

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


def check_address(settings: Settings, options: Collection[str] = ()) -> None:
    """Bind the host and port as uvicorn will, and let them go; SettingsError if that fails.

    uvicorn binds only after the app's start-up (the sandbox, torch), so a bad address would
    otherwise be found out late, with a traceback.
    """
    host, port = settings.host, settings.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            expected, name, got = "a port free to bind", setting_name("port", options), f"{port}"
        else:  # unresolvable (socket.gaierror) or not an address of this machine
            expected = "an address of this machine, or a name that resolves to one"
            name, got = setting_name("host", options), repr(host)
        raise SettingsError([f"{name} must be {expected} (got {got}: {why})"]) from None
