"""/metrics: one registry per app, built at the first scrape, and the default registry read once a scrape."""

from __future__ import annotations

import random
import string
from unittest import mock

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.intake import create_app
from shared.observability import KNOWN_METHODS
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS


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


def test_request_metrics_label_only_known_methods_and_routes(intake_db_url):
    app = create_app({"DATABASE_URL": intake_db_url, "TESTING": True})
    client = app.test_client()
    chance = random.Random(14)
    try:
        for _ in range(50):
            method = "".join(chance.choices(string.ascii_uppercase, k=chance.randint(3, 12)))
            path = "/" + "/".join(
                chance.choice(["api", "v1", "reports", "x" * chance.randint(1, 9)]) for _ in range(3)
            )
            client.open(path, method=method)
            client.open("/api/v1/catalog", method=method)
            client.get(path)
        samples = [
            sample.labels
            for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
            for sample in family.samples
            if sample.name == "dgbv_http_requests_total" and sample.labels.get("service") == "intake"
        ]
    finally:
        app.extensions["database"].dispose()
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert {labels["method"] for labels in samples} <= KNOWN_METHODS | {"other"}
    assert {labels["endpoint"] for labels in samples} <= routes | {"unmatched"}
    assert any(labels["method"] == "other" for labels in samples)


def test_intakes_operational_metrics_need_the_scrape_token_once_it_is_set(intake_db_url):
    # Its counters hold no case data: open while METRICS_TOKEN is unset, closed once it is set.
    for token, anonymous in ((None, 200), (METRICS_TOKEN, 401)):
        app = create_app({"DATABASE_URL": intake_db_url, "TESTING": True, "METRICS_TOKEN": token})
        try:
            client = app.test_client()
            assert client.get("/metrics").status_code == anonymous, token
            assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == anonymous
            assert client.get("/metrics", headers=SCRAPE_HEADERS).status_code == 200
        finally:
            app.extensions["database"].dispose()
