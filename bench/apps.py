"""WSGI apps served by the benchmarks' gunicorn processes."""

from __future__ import annotations

from flask import Flask, jsonify, request

from services.intake import create_app
from services.intake.web import csrf


def intake_with_echo() -> Flask:
    """intake as deployed, plus benchmark 1's baseline on the same server: a bare Flask endpoint
    that parses the same JSON body and returns it (no token, no database)."""
    app = create_app()

    @csrf.exempt
    def echo():
        return jsonify(request.get_json())

    app.add_url_rule("/bench/echo", "bench_echo", echo, methods=["PUT"])
    return app
