"""The README's API examples, run as written with bash, curl and jq against intake on the demo data
(what `make run` starts), then once more on the database they have just written to."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import requests

from tests.helpers.processes import ROOT, ServiceProcess, free_port, run_cli

ADMIN = "dgbv_readme-example-admin-secret"


def api_examples() -> str:
    """The first sh block under "## Using the intake API", for intake on `port`."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Using the intake API") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def tools():
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        message = f"the README's examples need {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def intake(tmp_path_factory, tools):
    folder = tmp_path_factory.mktemp("readme")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'intake.db'}",
        "DGBV_VAR_DIR": str(folder),
        "INTAKE_ADMIN_TOKEN": ADMIN,
    }
    run_cli(["services.intake", "demo-data", "--if-empty"], env)  # as `make run` does
    process = ServiceProcess(["services.intake"], env, free_port(), folder / "intake.log")
    try:
        yield process.start()
    finally:
        process.stop()


def run_examples(intake) -> str:
    script = api_examples()
    assert script.startswith("ADMIN=<the admin token>\n")
    script = script.replace("ADMIN=<the admin token>", f"ADMIN={ADMIN}", 1)
    script = script.replace("localhost:8001", f"127.0.0.1:{intake.port}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def report_now(intake, path_part: str) -> dict:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    return requests.get(f"{intake.url}/api/v1/reports/police/{path_part}", headers=headers, timeout=30).json()


def current_and_ended() -> tuple[str, str]:
    done = subprocess.run(
        ["bash", "-c", 'Y=$(TZ=Asia/Taipei date +%Y); Q=$(( ($(TZ=Asia/Taipei date +%-m) + 2) / 3 )); '
         'echo $Y/$Q $(( Q == 1 ? Y - 1 : Y ))/$(( Q == 1 ? 4 : Q - 1 ))'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    current, ended = done.stdout.split()
    return current, ended


def test_the_api_examples_work_on_the_demo_data_and_again_on_their_own_data(intake):
    current, ended = current_and_ended()
    ended_before = report_now(intake, ended)

    first = run_examples(intake)
    assert "尚未結束" in first and "起才能送出報告" in first  # the quarter in progress is not over yet
    report = report_now(intake, current)
    assert (report["status"], report["narrative"]) == ("draft", "本季辦理校園宣導。")
    action = next(a for a in report["actions"] if a["action"] == "1.police.1")
    assert action["values"] == {"sessions": 3, "participants": 420}
    assert action["note"] == "板橋、三重"
    reopened = report_now(intake, ended)
    assert reopened["history"][-1]["event"] == "reopened"
    assert reopened["revision"] == ended_before.get("revision", 0) + 1

    second = run_examples(intake)  # the same examples on a database holding their reports
    assert "尚未結束" in second
    again = report_now(intake, current)
    assert again["revision"] == report["revision"]  # the same patch changes nothing
    assert report_now(intake, ended)["revision"] == reopened["revision"] + 1
