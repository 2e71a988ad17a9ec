"""A small app for the tests of the workers' bounds: requests that ask for too much memory or time."""

from __future__ import annotations

import os
import time

from flask import Flask, request

app = Flask(__name__)


@app.get("/pid")
def pid():
    return str(os.getpid())


@app.get("/allocate")
def allocate():
    """Hold `mb` megabytes, written to, for the length of the request."""
    block = bytearray(int(request.args["mb"]) * 1024 * 1024)
    return f"{len(block) // (1024 * 1024)} MB"


@app.get("/spin")
def spin():
    """Keep a CPU busy for `seconds`, as openpyxl building a workbook bomb did."""
    until = time.monotonic() + float(request.args["seconds"])
    while time.monotonic() < until:
        pass
    return "done"
