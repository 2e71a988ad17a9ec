"""Who may open the quarterly 管考 report, what it says when kpi cannot answer, and where the bureaus'
reasons come from. (Its figures, over HTTP from a real kpi: test_quarterly_report_live.py.)"""

from __future__ import annotations

import pytest

from services.intake import quarterly_report, reports
from services.intake.kpi_client import KpiClient
from shared.periods import Quarter
from tests.helpers.processes import free_port
from tests.intake.conftest import full_report
from tests.intake.web.conftest import principal, rules_of, text_of

PAGE = "/quarterly-report"


def test_visitors_are_sent_to_sign_in_and_come_back_to_the_report(browser):
    answer = browser.get(PAGE)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/sign-in?next=/quarterly-report")


def test_bureau_users_cannot_open_it_nor_see_it_in_their_menu(signed_in):
    police = signed_in("police")
    assert police.get(PAGE).status_code == 403
    assert "管考季報" not in text_of(police.get("/quarters"))


@pytest.mark.parametrize("username", ["viewer", "coordinator", "admin"])
def test_the_committee_coordinators_and_admins_open_it_from_the_menu(web_app, signed_in, username):
    web_app.extensions["kpi_client"] = None  # kpi not configured: the page says so (503), not 403
    person = signed_in(username)
    overview = text_of(person.get("/overview"))
    assert '<a href="/quarterly-report">管考季報</a>' in overview
    page = person.get(PAGE)
    assert page.status_code == 503
    html = text_of(page)
    # The clock stands on 2022-07-05: the current reporting quarter is 2022Q1 (2022Q2 is due on 7/10).
    assert "管考季報：民國111年第1季" in html
    assert "尚未設定成效統計服務（kpi）的位址（KPI_URL）" in html
    assert '<option value="2022Q2">民國111年第2季</option>' in html


def test_an_unreachable_kpi_is_said_in_chinese_with_what_to_do_never_a_500(web_app, signed_in):
    # A real connection to a port nobody listens on.
    web_app.extensions["kpi_client"] = KpiClient(f"http://127.0.0.1:{free_port()}", "a-service-token", 2)
    page = signed_in("viewer").get(PAGE + "?period=2022Q1")
    assert page.status_code == 503
    html = text_of(page)
    assert "目前無法產生民國111年第1季的管考季報" in html
    assert "無法連線到成效統計服務（kpi，127.0.0.1:" in html
    assert 'href="/quarterly-report?period=2022Q1">重新整理本頁</a>' in html
    assert 'href="/overview?period=2022Q1">各機關填報狀況</a>' in html
    assert "a-service-token" not in html


def test_a_quarter_outside_the_tracked_ones_is_not_found(signed_in):
    page = signed_in("viewer").get(PAGE + "?period=2030Q1")
    assert page.status_code == 404
    assert "沒有這個期別的管考季報" in text_of(page)
    assert signed_in("viewer").get(PAGE + "?period=nonsense").status_code == 404


def test_the_reasons_quoted_are_the_ones_the_bureau_wrote_in_its_report_of_that_quarter(web_app):
    who = principal(web_app, "police")
    content = full_report("police", 1, delay_reason="講師檔期延後。", countermeasure="下季加開場次。")
    with web_app.extensions["database"].transaction() as session:
        reports.save_report(
            session, rules_of(web_app), who, "police", Quarter(2022, 2), reason=None, **content
        )
    rows = [{"bureau": "police", "action": "1.police.1"}, {"bureau": "education", "action": "1.education.1"}]
    with web_app.extensions["database"].transaction() as session:
        found = quarterly_report.behind_reasons(session, Quarter(2022, 2), rows)
        other_quarter = quarterly_report.behind_reasons(session, Quarter(2022, 1), rows)
    assert found[("police", "1.police.1")] == {
        "delay_reason": "講師檔期延後。",
        "countermeasure": "下季加開場次。",
    }
    assert ("education", "1.education.1") not in found  # no report: nothing to quote
    assert other_quarter == {}
