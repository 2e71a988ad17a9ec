"""Secrets must never reach a log line: what they look like, and the check."""

from __future__ import annotations

import re

# Tokens minted by intake, and the fixed secrets the tests themselves use.
TOKEN_PATTERN = re.compile(r"dgbv_[A-Za-z0-9_-]{20,}")
# The scrape token the tests give kpi (METRICS_TOKEN), and how a scrape sends it.
METRICS_TOKEN = "dgbv_metrics-scrape-token-of-the-tests-0123456789"
SCRAPE_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
# Passwords the suite signs in with or sets (a hit on any of them in a log line is a leak).
TEST_PASSWORDS = {"correct horse battery", "社會局的長密碼 2022", "a new long password", "s3cret"}


def find_secrets(text: str) -> list[str]:
    found = TOKEN_PATTERN.findall(text)
    found += [password for password in TEST_PASSWORDS if password in text]
    return found
