"""Serve a Flask app with gunicorn from Python (development entry points)."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Embedded(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def serve(app, host: str, port: int, workers: int = 1) -> None:
    """Run gunicorn in this process until it is stopped."""
    _Embedded(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": 4,
            "accesslog": None,
            "graceful_timeout": 5,
            # Several services share one machine: a shared control socket path would collide.
            "control_socket_disable": True,
        },
    ).run()
