"""A real browser: Debian's chromium, driven by Playwright, against the server started the README way.

It picks a task other than sentiment (spam) on the Run page, a small trial of its classic baseline and its
smallest encoder, presses Run, waits for the worker to finish, opens Compare, waits for the charts, sees the
task's own metric (Spam F1) named, and saves screenshots to test-artifacts/.
"""

import re
import shutil

import pytest
from browser_support import ARTIFACTS, browser_page, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import expect  # noqa: E402 - playwright is a test dependency


@pytest.fixture
def server(tmp_path, shared_cache):
    """The dashboard on a fresh, empty home and the shared model cache."""
    with running_server(tmp_path, shared_cache) as url:
        yield url


def remove_choice(page, label_start: str) -> None:
    """Click the x of a multiselect tag, e.g. the one labelled "minilm-l6 (23M)"."""
    button = page.get_by_role("button", name=re.compile(f"^Remove {re.escape(label_start)}"))
    button.click()
    expect(button).to_have_count(0)


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is installed by ./scripts/setup.sh --browser")
def test_run_a_trial_and_see_it_compared(server):
    with browser_page() as page:
        page.goto(server)
        expect(page.get_by_text("Rightsize").first).to_be_visible()

        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="Run a comparison").click()
        expect(page.get_by_role("button", name="Run comparison")).to_be_visible()
        page.get_by_role("combobox", name=re.compile("^Task")).click()
        page.get_by_role("option", name="Flag spam text messages").click()
        expect(page.get_by_text("Spam F1").first).to_be_visible()
        remove_choice(page, "minilm-l6")
        remove_choice(page, "mpnet-base")
        remove_choice(page, "int8-dynamic")
        questions = page.get_by_role("spinbutton", name="Test questions per trial")
        questions.fill("40")
        questions.press("Enter")
        expect(page.get_by_text("2 trials").first).to_be_visible()
        page.get_by_role("button", name="Run comparison").click()

        expect(page.get_by_text("finished").first).to_be_visible(timeout=300_000)
        page.screenshot(path=str(ARTIFACTS / "run-page.png"), full_page=True)

        page.get_by_role("link", name="Compare these results in charts").click()
        charts = page.locator(".vega-embed")
        expect(charts.first).to_be_visible(timeout=60_000)
        expect(charts).to_have_count(6)  # quality-energy, carbon, latency, size, F1 per class, one confusion
        expect(page.get_by_text("minilm-l3").first).to_be_visible()
        expect(page.get_by_text("Spam F1").first).to_be_visible()  # the task's metric, named on Compare
        expect(page.get_by_role("combobox", name="Task")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "compare-page.png"), full_page=True)
