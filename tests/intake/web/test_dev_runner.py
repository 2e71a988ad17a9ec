"""`make run` gives the pages a SECRET_KEY of their own, generated once under var/ and kept private."""

from __future__ import annotations

import services.__main__ as runner


def test_the_secret_key_is_generated_once_and_readable_only_by_its_owner(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "VAR", tmp_path)
    first = runner._secret_key()
    assert len(first) >= 48
    assert runner._secret_key() == first
    assert (tmp_path / "secret-key").stat().st_mode & 0o777 == 0o600


def test_the_scrape_token_is_generated_once_and_readable_only_by_its_owner(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "VAR", tmp_path)
    first = runner._metrics_token()
    assert len(first) >= 32 and first != runner._secret_key()
    assert runner._metrics_token() == first
    assert (tmp_path / "metrics-token").stat().st_mode & 0o777 == 0o600
