"""WSGI apps served by the benchmarks' gunicorn processes."""

from __future__ import annotations

import json
import os
import sqlite3
import threading

import psycopg
from flask import Flask, jsonify, request
from sqlalchemy.engine import make_url

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


def durable_write() -> Flask:
    """Benchmark 8's floor for a report save: a bare Flask app that parses the same JSON body and
    stores it with one INSERT and a COMMIT on the same database (no token, no ORM, no history).
    The table `bench_writes` is made by the benchmark before the server starts."""
    url = make_url(os.environ["DATABASE_URL"])
    on_postgres = url.get_backend_name() == "postgresql"
    insert = f"INSERT INTO bench_writes (body) VALUES ({'%s' if on_postgres else '?'})"
    local = threading.local()  # one connection per gunicorn thread

    def connection():
        if not hasattr(local, "connection"):
            if on_postgres:
                local.connection = psycopg.connect(
                    url.set(drivername="postgresql").render_as_string(hide_password=False)
                )
            else:
                local.connection = sqlite3.connect(url.database)
        return local.connection

    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.put("/write")
    def write():
        body = request.get_json()
        db = connection()
        db.execute(insert, (json.dumps(body, ensure_ascii=False),))
        db.commit()
        return jsonify({"written": 1})

    return app
