"""The analysis report's HTML, rendered by real headless Chromium.

METTA_SAVE_SCREENSHOTS=1 also saves docs/images/analysis_report.png.
"""

from __future__ import annotations

import os

import pytest

from tests.eval.browser import chromium, save_screenshot, skip_without_chromium

skip_without_chromium()

from selenium.webdriver.common.by import By

from metta.eval.report_html import anchor, fmt
from metta.jobs.analyze import AnalysisConfig, run_analysis
from tests.eval.db_helpers import showcase_db, two_policy_db


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report page open in Chromium, and the report's JSON."""
    tmp = tmp_path_factory.mktemp("report")
    report = run_analysis(AnalysisConfig(eval_db_uri=str(two_policy_db(tmp / "eval.duckdb")),
                                         output_path=str(tmp / "out"), title="Navigation checkpoints"))
    with chromium() as driver:
        driver.get((tmp / "out" / "report.html").as_uri())
        yield driver, report


def test_page_renders_with_title_and_charts(rendered):
    driver, report = rendered
    assert driver.title == "Navigation checkpoints"
    assert driver.find_element(By.TAG_NAME, "h1").text == "Navigation checkpoints"
    charts = driver.find_elements(By.CSS_SELECTOR, ".chart svg")
    assert len(charts) == len(report["metrics"]) == 3
    for chart in charts:  # laid out, not collapsed to nothing
        assert chart.size["width"] > 300 and chart.size["height"] > 200
    # One bar per (policy, evaluation) that has a result, in each chart.
    assert len(charts[0].find_elements(By.CSS_SELECTOR, "rect")) == len(report["results"])


def test_heatmap_has_one_cell_per_policy_and_evaluation(rendered):
    driver, report = rendered
    cells = driver.find_elements(By.CSS_SELECTOR, "table.heat td.cell")
    seen = {(c.get_attribute("data-policy"), c.get_attribute("data-eval")): c for c in cells}
    assert len(seen) == len(cells)  # no (policy, evaluation) twice
    expected = {(r["policy"], r["evaluation"]) for r in report["results"]}
    assert set(seen) == expected and len(expected) == 6
    # The number, without the ★/▼ significance mark that follows it.
    texts = {key: seen[key].text.rstrip("★▼").strip() for key in seen}
    assert texts[("nav_run:v2", "navigation/emptyspace")] == "2.50"
    assert texts[("nav_run:v2", "arena/basic")] == "3.00"
    assert texts[("nav_run:v1", "navigation/walls")] == "1.00"
    assert texts[("random", "navigation/emptyspace")] == "0.00"
    for cell in cells:  # every cell is visible and coloured
        assert cell.is_displayed() and cell.size["width"] > 20
        assert cell.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
    # The best cell is darker than the worst one (light = low on the ramp).
    best = seen[("nav_run:v2", "arena/basic")].value_of_css_property("background-color")
    worst = seen[("random", "navigation/emptyspace")].value_of_css_property("background-color")
    assert _brightness(best) < _brightness(worst)


def test_evaluations_not_played_are_shown_as_gaps(rendered):
    driver, _ = rendered
    row = driver.find_elements(By.CSS_SELECTOR, "table.heat tbody tr")[2]
    assert row.find_element(By.TAG_NAME, "th").text == "random"
    assert len(row.find_elements(By.CSS_SELECTOR, "td.missing")) >= 2


def test_page_loads_nothing_from_elsewhere(rendered):
    driver, _ = rendered
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []
    # The hover readout's script is inline; nothing is fetched.
    assert driver.find_elements(By.CSS_SELECTOR, "script[src], link[rel=stylesheet], img") == []


def test_charts_fill_their_cards_at_two_window_sizes(rendered):
    driver, _ = rendered
    for width in (1300, 800):
        driver.set_window_size(width, 1000)
        sizes = driver.execute_script("""return [...document.querySelectorAll('.chart')].map((card) => {
            const style = getComputedStyle(card);
            const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return [inner, card.querySelector('svg').getBoundingClientRect().width]; })""")
        assert sizes and all(abs(inner - svg) <= 3 for inner, svg in sizes), (width, sizes)
    driver.set_window_size(1300, 1000)


def test_count_metrics_start_at_zero(rendered):
    driver, report = rendered
    for metric in report["metrics"]:
        values = [r["metrics"][metric]["mean"] for r in report["results"]]
        if min(values) < 0:
            continue
        labels = driver.execute_script(
            "return [...document.getElementById(arguments[0]).querySelectorAll('svg text[text-anchor=end]')]"
            ".filter((t) => !t.getAttribute('transform')).map((t) => t.textContent)", anchor(metric))
        assert float(labels[0]) == 0.0, (metric, labels)


def test_hover_readout_shows_the_bars_numbers(rendered):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, report = rendered
    metric = report["metrics"][0]
    card = driver.find_element(By.ID, anchor(metric))
    bar = card.find_elements(By.CSS_SELECTOR, "rect[data-readout]")[-1]
    ActionChains(driver).move_to_element(bar).perform()
    readout = card.find_element(By.CSS_SELECTOR, ".readout").text
    value = float(bar.get_attribute("data-value"))
    assert readout == bar.get_attribute("data-readout") and f": {fmt(value)}" in readout
    result = next(r for r in report["results"] if r["metrics"][metric]["mean"] == value)
    assert readout.startswith(f"{result['policy']} · {result['evaluation']}: ")


def test_index_links_to_every_chart(rendered):
    driver, report = rendered
    links = [a.get_attribute("href").split("#", 1)[1] for a in driver.find_elements(By.CSS_SELECTOR, "nav.toc a")]
    assert links == ["heatmap", *(anchor(m) for m in report["metrics"])]
    for target in links:
        assert len(driver.find_elements(By.ID, target)) == 1


def test_significance_marks_follow_the_comparison(rendered):
    driver, report = rendered
    marks = {(c.get_attribute("data-policy"), c.get_attribute("data-eval")):
             "".join(s.get_attribute("data-mark") for s in c.find_elements(By.CSS_SELECTOR, ".sig"))
             for c in driver.find_elements(By.CSS_SELECTOR, "table.heat td.cell")}
    expected = {}
    for evaluation, entry in report["comparison"].items():
        expected[(entry["best"], evaluation)] = "★"
        for policy, versus in entry["vs_best"].items():
            expected[(policy, evaluation)] = "▼" if versus["ci_excludes_zero"] else ""
    assert "★" in expected.values() and "▼" in expected.values()
    assert {key: marks[key] for key in expected} == expected


def test_screenshot(tmp_path):
    """docs/images/analysis_report.png, from a fuller seeded database than the tests above."""
    if os.environ.get("METTA_SAVE_SCREENSHOTS") != "1":
        pytest.skip("set METTA_SAVE_SCREENSHOTS=1 to refresh docs/images/analysis_report.png")
    run_analysis(AnalysisConfig(eval_db_uri=str(showcase_db(tmp_path / "eval.duckdb")),
                                output_path=str(tmp_path / "out"), title="nav_run checkpoints vs. built-ins"))
    with chromium(1400, 1000) as driver:
        driver.get((tmp_path / "out" / "report.html").as_uri())
        assert len(driver.find_elements(By.CSS_SELECTOR, "td.cell")) == 5 * 8
        path = save_screenshot(driver, "analysis_report.png")
    assert path is not None and path.stat().st_size > 10_000


def _brightness(css_colour: str) -> float:
    r, g, b = (float(x) for x in css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
