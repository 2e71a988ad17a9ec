"""The suite-wide watch that fails the run when a token or password reaches a log line."""

from __future__ import annotations

import logging

from tests.conftest import _SecretWatch
from tests.helpers.secrets import find_secrets


def test_the_watch_notices_a_token_in_a_message_or_in_extra_fields():
    watch = _SecretWatch()
    logger = logging.getLogger("hygiene-check")
    logger.propagate = False  # keep this deliberate leak away from the suite-wide watch
    logger.addHandler(watch)
    try:
        logger.warning("request ok", extra={"principal": "token:3"})
        assert watch.leaks == []
        logger.warning("auth header was Bearer dgbv_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
        logger.warning("ok", extra={"authorization": "dgbv_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"})
        assert len(watch.leaks) == 2
    finally:
        logger.removeHandler(watch)


def test_token_digests_and_ids_are_not_mistaken_for_secrets():
    assert (
        find_secrets("token:12 sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") == []
    )
