"""Each service's migrations build exactly the tables its models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command

from shared.migrations import alembic_config, upgrade

SERVICES = Path(__file__).resolve().parents[2] / "services"


@pytest.mark.parametrize("service", ["intake", "kpi", "notify"])
def test_the_migrations_match_the_models(service, tmp_path):
    url = f"sqlite:///{tmp_path / service}.db"
    upgrade(SERVICES / service, url)
    command.check(alembic_config(SERVICES / service, url))  # raises if a model is not migrated
