"""/metrics: one registry per app, built at the first scrape, and the default registry read once a scrape."""

from __future__ import annotations

from unittest import mock

from prometheus_client import REGISTRY

from services.intake import create_app


def test_the_registry_is_built_once_and_each_scrape_reads_the_default_registry_once(intake_db_url):
    app = create_app({"DATABASE_URL": intake_db_url, "TESTING": True})
    client = app.test_client()
    try:
        with mock.patch.object(REGISTRY, "collect", wraps=REGISTRY.collect) as collected:
            assert client.get("/metrics").status_code == 200
            registry = app.extensions["metrics_registry"]
            first = collected.call_count
            assert client.get("/metrics").status_code == 200
        assert app.extensions["metrics_registry"] is registry
        assert first == 1 and collected.call_count == 2
    finally:
        app.extensions["database"].dispose()
