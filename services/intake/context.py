"""What the API and the pages both need from the request's app: the plan, the clock, the rules.

Neither layer imports the other: both take these from here and call the domain modules
(reports, targets, outcomes, cases, workbooks).
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Response, current_app, send_file

from services.intake import installation
from services.intake.reports import Rules
from shared.catalog import Catalog
from shared.db import get_session

# A bureau's report of a quarter, in the API (under /api/v1) and on the pages alike.
REPORT_PATH = "/reports/<string:bureau>/<year:year>/<quarter:quarter>"


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now() -> dt.datetime:
    return current_app.config["CLOCK"]()


def current_rules() -> Rules:
    """The plan's rules as they apply now, from the deployment's first tracked quarter on."""
    catalog = current_catalog()
    return Rules(catalog, installation.first_quarter(get_session(), catalog), now())


def send_download(content: bytes, file_name: str, mimetype: str) -> Response:
    """A file to save, never cached: a workbook holds what is saved now."""
    return send_file(
        io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=file_name, max_age=0
    )
