"""The plan catalog: New Taipei City's plan as data, checked against the plan document itself."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from shared.catalog import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    default_catalog,
    load_catalog,
)

OTHER_CITY = Path(__file__).with_name("fixtures") / "other_city_catalog.yaml"

# 具體作法 per (program, bureau), as printed in Table 4.
ACTION_COUNTS = {
    ("primary", "police"): 5,
    ("primary", "education"): 4,
    ("primary", "health"): 1,
    ("primary", "labor"): 2,
    ("primary", "information"): 2,
    ("primary", "social"): 4,
    ("secondary", "police"): 4,
    ("tertiary", "police"): 2,
    ("tertiary", "health"): 2,
    ("tertiary", "social"): 3,
}

# Table 4 cells that the PDF extraction split around a neighbouring cell's text.
WRAPPED_CELLS = {
    "三級預防－救援保護被害人，查緝隔離加害人",
    "協助被害人減緩心理壓力、走出傷痛，發揮保護功效。",
    "對於使用電子通訊、網際網路或其他方法，反覆或持續為違反特定人意願且與性或性別有關之辱罵、干擾、"
    "寄送影像等行為之行為人，經調查有跟蹤騷擾行為之犯罪嫌疑，依職權或請求予以書面告誡。經書面告誡後二年內，"
    "再為跟蹤騷擾行為者，依職權向法院聲請保護令。",
}


def seed_path() -> Path:
    """Return the plan document's path: $DGBV_SEED_PATH, else the copy kept with the tests."""
    override = os.environ.get("DGBV_SEED_PATH")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1] / "fixtures" / "plan-document.txt"


def squeeze(text: str) -> str:
    """Remove all whitespace: the PDF extraction inserts line breaks and spaces anywhere."""
    return re.sub(r"\s+", "", text)


def fragments_in(text: str, seed: str) -> int | None:
    """Count the in-order seed fragments that spell text (1 = verbatim), or None if it is absent."""
    text, count, start = squeeze(text), 0, 0
    while text:
        # Greedy: the longest prefix of what is left that occurs after the previous fragment.
        for length in range(len(text), 0, -1):
            found = seed.find(text[:length], start)
            if found >= 0:
                break
        else:
            return None
        text, count, start = text[length:], count + 1, found + length
    return count


@pytest.fixture(scope="module")
def seed() -> str:
    path = seed_path()
    return squeeze(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(DEFAULT_CATALOG_PATH)


@pytest.fixture
def fresh_default_catalog():
    default_catalog.cache_clear()
    yield default_catalog
    default_catalog.cache_clear()


# --- New Taipei City's plan ------------------------------------------------------------------


def test_plan_covers_new_taipei_2021_baseline_and_2022_target(catalog):
    plan = catalog.plan
    assert (plan.id, plan.city, plan.city_en) == ("ntpc-dgbv", "新北市", "New Taipei City")
    assert plan.title == "推動防治數位性別暴力案件及被害協助"
    own = [goal for goal in catalog.goals if goal.is_plans_own]
    assert [(goal.year, goal.baseline_year, goal.reduction) for goal in own] == [
        (2022, 2021, Decimal("0.03"))
    ]
    assert (catalog.reporting.first_quarter.year, plan.history_first_year) == (2022, 2016)
    assert plan.owner_bureau == "police"
    assert plan.timezone == "Asia/Taipei"


def test_the_catalog_states_its_small_cell_rule(catalog):
    # Counts of 1 or 2 case records are withheld from every table and metric kpi publishes.
    assert catalog.disclosure.min_cell == 3
    assert catalog.to_dict()["disclosure"] == {"min_cell": 3}


def test_every_later_goal_is_marked_a_continuation_of_the_plans(catalog):
    later = [goal for goal in catalog.goals if goal.year > 2022]
    assert later and all(goal.kind == "continuation" and not goal.is_plans_own for goal in later)
    assert all(goal.baseline_year == goal.year - 1 and goal.reduction == Decimal("0.03") for goal in later)


def test_each_metric_has_a_kind_with_its_basis_and_people_are_counted_by_sex(catalog):
    metrics = [(a, m) for a in catalog.actions for m in a.metrics]
    assert len(metrics) == 61
    caseload = [f"{a.id}.{m.id}" for a, m in metrics if m.kind == "caseload"]
    assert len(caseload) == 27
    # Referrals, complaints, takedowns, victims served and offenders in treatment are demand.
    for name in ("1.health.1.cases_referred", "2.police.2.complaints", "2.police.2.takedowns"):
        assert name in caseload
    for name in ("3.health.1.persons", "3.health.2.offenders", "2.police.3.referrals_received"):
        assert name in caseload
    assert "1.police.1.sessions" not in caseload and "2.police.1.patrol_hours" not in caseload
    assert all(m.basis for _, m in metrics)
    by_sex = {f"{a.id}.{m.id}" for a, m in metrics if m.by_sex}
    assert {"1.police.1.participants", "1.police.4.trainees", "3.social.2.persons"} <= by_sex
    assert all(m.unit in ("人次", "人") for _, m in metrics if m.by_sex)
    assert "1.police.3.reach" not in by_sex  # the platform counts views, not people by sex


def test_six_bureaus_in_order(catalog):
    assert [(b.id, b.name) for b in catalog.bureaus] == [
        ("police", "警察局"),
        ("education", "教育局"),
        ("health", "衛生局"),
        ("labor", "勞工局"),
        ("information", "新聞局"),
        ("social", "社會局"),
    ]


def test_three_programs_named_as_in_table_4(catalog):
    assert [(p.id, p.number, p.name) for p in catalog.programs] == [
        ("primary", 1, "初級預防－多元推廣宣導策略"),
        ("secondary", 2, "次級預防－警政積極偵處、防制"),
        ("tertiary", 3, "三級預防－救援保護被害人，查緝隔離加害人"),
    ]
    assert [len(p.expected_outcomes) for p in catalog.programs] == [3, 2, 3]


def test_29_actions_per_program_and_bureau(catalog):
    assert len(catalog.actions) == 29
    assert Counter((a.program, a.bureau) for a in catalog.actions) == ACTION_COUNTS


def test_action_ids_number_each_program_and_bureau_from_one(catalog):
    for (program_id, bureau_id), count in ACTION_COUNTS.items():
        actions = [a for a in catalog.actions if (a.program, a.bureau) == (program_id, bureau_id)]
        assert [a.number for a in actions] == list(range(1, count + 1))
        number = catalog.program(program_id).number
        assert [a.id for a in actions] == [f"{number}.{bureau_id}.{n}" for n in range(1, count + 1)]
    assert catalog.action("1.health.1").text == "發現數位網路性別暴力個案，通報有關單位查處。"


def test_every_action_has_one_to_three_reportable_metrics(catalog):
    for action in catalog.actions:
        assert 1 <= len(action.metrics) <= 3, action.id
        assert len({m.id for m in action.metrics}) == len(action.metrics), action.id
        for metric in action.metrics:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", metric.id), (action.id, metric.id)
            assert metric.name and metric.name_en, (action.id, metric.id)
            assert metric.unit.strip() and metric.unit_en.strip(), (action.id, metric.id)


def test_every_text_has_an_english_translation(catalog):
    for action in catalog.actions:
        assert action.text_en.strip(), action.id
    for program in catalog.programs:
        assert program.name_en and all(o.text_en for o in program.expected_outcomes)


def test_three_indicators_target_a_3_percent_decrease(catalog):
    assert [(i.id, i.name, i.category, i.role, i.sex) for i in catalog.indicators] == [
        (
            "secret_filming_male_suspects",
            "妨害秘密(偷拍行為)案男性嫌疑人人數",
            "secret_filming",
            "suspect",
            "male",
        ),
        (
            "secret_filming_female_victims",
            "妨害秘密(偷拍行為)案女性被害人人數",
            "secret_filming",
            "victim",
            "female",
        ),
        (
            "obscene_distribution_male_suspects",
            "散播販賣陳覽猥褻物品案男性嫌疑人人數",
            "obscene_distribution",
            "suspect",
            "male",
        ),
    ]
    for indicator in catalog.indicators:
        assert indicator.direction == "decrease"
        assert catalog.goal(indicator.id, 2022).reduction == Decimal("0.03")
        assert isinstance(catalog.goal(indicator.id, 2022).reduction, Decimal)


def test_crime_categories(catalog):
    assert [(c.id, c.name) for c in catalog.crime_categories] == [
        ("secret_filming", "妨害秘密(偷拍行為)"),
        ("obscene_distribution", "妨害風化(散播販賣陳覽猥褻物品)"),
        ("computer_misuse", "妨害電腦使用"),
        ("defamation", "妨害名譽"),
        ("stalking", "跟蹤騷擾"),
        ("child_sexual_exploitation", "兒少性剝削"),
    ]


def test_executive_yuan_ten_gbv_types(catalog):
    assert [(t.number, t.name) for t in catalog.gbv_types] == list(
        enumerate(
            [
                "網路跟蹤",
                "惡意或未經同意散布與性/性別有關個人私密資料",
                "網路性騷擾",
                "基於性別貶抑或仇恨之言論或行為",
                "性勒索",
                "人肉搜索",
                "基於性別偏見所為之強暴或死亡威脅",
                "招募引誘",
                "非法入侵或竊取他人資料",
                "偽造或冒用身分",
            ],
            start=1,
        )
    )


def test_twelve_causes_in_tie_break_order_with_residuals_marked(catalog):
    assert [(c.id, c.label) for c in catalog.causes] == [
        ("sexual_impulse", "情慾衝動"),
        ("greed", "貪心謀財或投機圖利"),
        ("quarrel_impulse", "口角、一時衝動"),
        ("quarrel_revenge", "口角、仇恨、尋仇、報復、一時衝動"),
        ("quarrel_dislike", "口角、一時衝動含看不順眼"),
        ("curiosity", "好奇(好玩)"),
        ("family_dispute", "家庭(感情)糾紛"),
        ("no_reason", "無故"),
        ("intentional", "故意"),
        ("legal_misconception", "曲解法令(觀念錯誤)"),
        ("other_unknown", "其他(含不明)"),
        ("unknown", "不明"),
    ]
    assert [c.id for c in catalog.causes if c.residual] == ["other_unknown", "unknown"]


def test_six_relationships_as_table_2_columns(catalog):
    assert [(r.id, r.label, r.residual) for r in catalog.relationships] == [
        ("stranger", "陌生", False),
        ("acquaintance", "認識", False),
        ("family", "配偶、同居、家屬、親戚", False),
        ("neighbour", "鄰居", False),
        ("friend", "朋友", False),
        ("other_unknown", "其他(含不詳)", True),
    ]


def test_seven_age_bands(catalog):
    assert [(b.id, b.label, b.min_age, b.max_age) for b in catalog.age_bands] == [
        ("0-17", "17歲以下", 0, 17),
        ("18-23", "18-23歲", 18, 23),
        ("24-29", "24-29歲", 24, 29),
        ("30-39", "30-39歲", 30, 39),
        ("40-49", "40-49歲", 40, 49),
        ("50-59", "50-59歲", 50, 59),
        ("60+", "60歲以上", 60, None),
    ]


@pytest.mark.parametrize(
    ("age", "band"),
    [(0, "0-17"), (17, "0-17"), (18, "18-23"), (23, "18-23"), (24, "24-29"), (59, "50-59")]
    + [(60, "60+"), (99, "60+")],
)
def test_age_band_for_boundaries(catalog, age, band):
    assert catalog.age_band_for(age).id == band


def test_age_band_for_rejects_negative_age(catalog):
    with pytest.raises(ValueError):
        catalog.age_band_for(-1)


def test_29_districts_of_new_taipei(catalog):
    assert len(catalog.districts) == 29
    assert len({d.name for d in catalog.districts}) == 29
    assert all(d.name.endswith("區") and d.name_en.endswith(" District") for d in catalog.districts)
    assert catalog.district("banqiao").name == "板橋區"
    assert catalog.district("wulai").name == "烏來區"


# --- Verbatim against the plan document --------------------------------------------------------


def assert_verbatim(text: str, seed: str) -> None:
    expected = 2 if text in WRAPPED_CELLS else 1
    assert fragments_in(text, seed) == expected, f"not verbatim in the seed: {text}"


def test_action_texts_are_verbatim(catalog, seed):
    for action in catalog.actions:
        assert_verbatim(action.text, seed)


def test_the_dark_figure_warning_is_the_plans_own_words(catalog, seed):
    """The 犯罪黑數 caveat shown beside every count of cases is quoted, not paraphrased."""
    assert "犯罪黑數" in catalog.plan.dark_figure_note
    assert_verbatim(catalog.plan.dark_figure_note, seed)


def test_program_names_and_expected_outcomes_are_verbatim(catalog, seed):
    for program in catalog.programs:
        assert_verbatim(program.name, seed)
        for outcome in program.expected_outcomes:
            assert not re.match(r"\d+\.", outcome.text), "numbering must be stripped"
            assert_verbatim(outcome.text, seed)


def test_names_and_labels_are_verbatim(catalog, seed):
    texts = [catalog.plan.title]
    texts += [i.name for i in catalog.indicators]
    texts += [t.name for t in catalog.gbv_types]
    texts += [c.name for c in catalog.crime_categories]
    texts += [c.label for c in catalog.causes + catalog.relationships + catalog.age_bands]
    texts += [b.name for b in catalog.bureaus]
    for text in texts:
        assert_verbatim(text, seed)


def test_wrapped_cells_are_really_wrapped(seed):
    # Guards the allowance above: these must not become contiguous (nor vanish) in the seed.
    for text in WRAPPED_CELLS:
        assert fragments_in(text, seed) == 2, text


def test_unknown_text_is_not_found(seed):
    assert fragments_in("完全不存在的句子ＸＹＺ", seed) is None


# --- Lookups and serialisation --------------------------------------------------------------


def test_lookups_by_id(catalog):
    assert catalog.bureau("social").name == "社會局"
    assert catalog.program("secondary").number == 2
    assert catalog.indicator("secret_filming_female_victims").sex == "female"
    assert catalog.crime_category("stalking").name == "跟蹤騷擾"
    assert catalog.cause("no_reason").label == "無故"
    assert catalog.relationship("neighbour").label == "鄰居"
    assert catalog.age_band("60+").max_age is None
    assert catalog.metric("2.police.2", "takedowns").unit == "件"


@pytest.mark.parametrize(
    "lookup",
    ["bureau", "program", "action", "indicator", "crime_category", "cause", "relationship"]
    + ["age_band", "district"],
)
def test_unknown_ids_raise_key_error(catalog, lookup):
    with pytest.raises(KeyError, match="nope"):
        getattr(catalog, lookup)("nope")


def test_unknown_metric_raises_key_error(catalog):
    with pytest.raises(KeyError):
        catalog.metric("1.police.1", "nope")
    with pytest.raises(KeyError):
        catalog.metric("9.police.1", "sessions")


def test_actions_for_bureau_in_file_order(catalog):
    assert [a.id for a in catalog.actions_for("health")] == [
        "1.health.1",
        "3.health.1",
        "3.health.2",
    ]
    assert len(catalog.actions_for("police")) == 11
    with pytest.raises(KeyError):
        catalog.actions_for("fire")


def test_catalog_is_frozen(catalog):
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.plan.history_first_year = 2030
    assert isinstance(catalog.actions, tuple)
    assert isinstance(catalog.actions[0].metrics, tuple)


def test_to_dict_is_json_and_mirrors_the_yaml(catalog, tmp_path):
    data = catalog.to_dict()
    raw = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    assert list(data) == list(raw)
    for metric in raw["actions"][0]["metrics"]:
        metric.setdefault("by_sex", False)  # the file states it only where it is true
    assert data["actions"][0] == raw["actions"][0]
    assert data["indicators"] == raw["indicators"]
    assert json.loads(json.dumps(data)) == data
    copy_path = tmp_path / "copy.yaml"
    copy_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_catalog(copy_path) == catalog


def test_default_catalog_is_cached(fresh_default_catalog, monkeypatch):
    monkeypatch.delenv("DGBV_CATALOG", raising=False)
    first = fresh_default_catalog()
    assert first.plan.id == "ntpc-dgbv"
    assert fresh_default_catalog() is first


def test_default_catalog_honours_env_var(fresh_default_catalog, monkeypatch):
    monkeypatch.setenv("DGBV_CATALOG", str(OTHER_CITY))
    assert fresh_default_catalog().plan.city == "臺中市"


# --- Another city, another year ----------------------------------------------------------------


def test_other_city_catalog_loads_with_its_own_values():
    other = load_catalog(OTHER_CITY)
    assert (other.plan.city, other.reporting.first_quarter.year, other.reporting.due_days) == (
        "臺中市",
        2024,
        15,
    )
    assert other.disclosure.min_cell == 5
    assert [b.id for b in other.bureaus] == ["social", "police"]
    assert [a.id for a in other.actions] == ["1.social.1", "1.police.1"]
    assert [m.id for m in other.actions_for("police")[0].metrics] == ["patrol_hours", "cases_found"]
    assert other.goal("stalking_victims", 2024).reduction == Decimal("0.05")
    assert other.metric("1.police.1", "cases_found").kind == "caseload"
    assert len(other.gbv_types) == 3
    assert other.cause("greed").residual is False
    assert other.age_band_for(17).id == "minor"
    assert other.age_band_for(80).id == "adult"
    assert other.district("xitun").name == "西屯區"


# --- Invalid catalogs ------------------------------------------------------------------------


def _set(path, value):
    """Return a mutation that sets data[path...] = value."""

    def mutate(data):
        *parents, last = path
        for key in parents:
            data = data[key]
        data[last] = value

    return mutate


def _drop_metric_unit(data):
    del data["actions"][3]["metrics"][0]["unit"]


def _duplicate_first_action(data):
    data["actions"].append(copy.deepcopy(data["actions"][0]))


def _duplicate_metric_id(data):
    data["actions"][0]["metrics"][1]["id"] = data["actions"][0]["metrics"][0]["id"]


def _drop(path):
    def mutate(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _skip_gbv_type_5(data):
    del data["gbv_types"][4]


INVALID = {
    "missing metric unit": (
        _drop_metric_unit,
        "actions.3.metrics.0.unit: Missing data for required field.",
    ),
    "unknown bureau": (_set(["actions", 0, "bureau"], "fire"), "actions.0.bureau: Unknown bureau"),
    "unknown program": (
        _set(["actions", 0, "program"], "quaternary"),
        "actions.0.program: Unknown program",
    ),
    "duplicate action id": (_duplicate_first_action, "actions.29.id: Duplicate id '1.police.1'"),
    "action id not matching": (
        _set(["actions", 1, "id"], "1.police.9"),
        "actions.1.id: Must be '1.police.2'",
    ),
    "duplicate metric id": (_duplicate_metric_id, "actions.0.metrics.1.id: Duplicate id"),
    "metric id not snake_case": (
        _set(["actions", 0, "metrics", 0, "id"], "Sessions"),
        "actions.0.metrics.0.id",
    ),
    "empty action text": (_set(["actions", 0, "text"], ""), "actions.0.text"),
    "unknown top-level key": (_set(["budget"], 0), "budget: Unknown field."),
    "unknown nested key": (_set(["actions", 0, "budget"], 0), "actions.0.budget: Unknown field."),
    "reduction above one": (_set(["goals", 0, "reduction"], 1.5), "goals.0.reduction"),
    "reduction zero": (_set(["goals", 0, "reduction"], 0), "goals.0.reduction"),
    "goal of an unknown kind": (_set(["goals", 0, "kind"], "wish"), "goals.0.kind"),
    "two goals in a year": (_set(["goals", 1, "year"], 2022), "already has a goal for 2022 (index 0)"),
    "goal of an unknown indicator": (
        _set(["goals", 0, "indicators"], ["arson_victims"]),
        "goals.0.indicators",
    ),
    "metric without a kind": (
        _drop(["actions", 0, "metrics", 0, "kind"]),
        "actions.0.metrics.0.kind: Missing data",
    ),
    "metric of an unknown kind": (
        _set(["actions", 0, "metrics", 0, "kind"], "quota"),
        "actions.0.metrics.0.kind",
    ),
    "threshold above one": (_set(["reporting", "behind_threshold"], 1.2), "reporting.behind_threshold"),
    "first quarter not a quarter": (
        _set(["reporting", "first_quarter"], "2022-13"),
        "reporting.first_quarter",
    ),
    "negative due days": (_set(["reporting", "due_days"], -1), "reporting.due_days"),
    "no small-cell rule": (_drop(["disclosure"]), "disclosure: Missing data"),
    "small-cell threshold zero": (_set(["disclosure", "min_cell"], 0), "disclosure.min_cell"),
    "small-cell threshold as text": (_set(["disclosure", "min_cell"], "3"), "disclosure.min_cell"),
    "unknown category": (
        _set(["indicators", 0, "category"], "arson"),
        "indicators.0.category: Unknown crime category",
    ),
    "bad role": (_set(["indicators", 0, "role"], "witness"), "indicators.0.role"),
    "bad sex": (_set(["indicators", 1, "sex"], "other"), "indicators.1.sex"),
    "bad direction": (_set(["indicators", 2, "direction"], "flat"), "indicators.2.direction"),
    "gbv types not consecutive": (_skip_gbv_type_5, "gbv_types.4.number: Must be 5."),
    "age band gap": (_set(["age_bands", 1, "min_age"], 19), "age_bands.1.min_age"),
    "age band overlap": (_set(["age_bands", 2, "min_age"], 23), "age_bands.2.min_age"),
    "open age band not last": (_set(["age_bands", 0, "max_age"], None), "age_bands.0.max_age"),
    "unknown owner bureau": (
        _set(["plan", "owner_bureau"], "fire"),
        "plan.owner_bureau: Unknown bureau",
    ),
    "baseline not before the goal year": (_set(["goals", 0, "baseline_year"], 2022), "goals.0.baseline_year"),
    "unknown time zone": (_set(["plan", "timezone"], "Mars/Olympus"), "plan.timezone"),
    "duplicate bureau id": (_set(["bureaus", 1, "id"], "police"), "bureaus.1.id: Duplicate id"),
    "duplicate district id": (
        _set(["districts", 28, "id"], "banqiao"),
        "districts.28.id: Duplicate id",
    ),
    "duplicate cause id": (_set(["causes", 11, "id"], "greed"), "causes.11.id: Duplicate id"),
    "year as text": (_set(["goals", 0, "year"], "2022"), "goals.0.year"),
}


@pytest.mark.parametrize(("mutate", "expected"), INVALID.values(), ids=INVALID.keys())
def test_invalid_catalog_names_the_bad_key(tmp_path, mutate, expected):
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(path)
    assert expected in str(excinfo.value)
    assert str(path) in str(excinfo.value)


def test_broken_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("plan: [unclosed\n  id: x\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="broken.yaml"):
        load_catalog(path)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(CatalogError, match="absent.yaml"):
        load_catalog(tmp_path / "absent.yaml")


def test_catalog_error_is_a_value_error():
    assert issubclass(CatalogError, ValueError)
