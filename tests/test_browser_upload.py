"""A real browser uploads a labelled CSV on the Run page: the panel says what it found, "Use this data" stores it,
and the task picker then holds it with its metric named. Debian's chromium via Playwright, server started the
README way."""

import re
import shutil

import pytest
from browser_support import ARTIFACTS, browser_page, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import expect  # noqa: E402 - playwright is a test dependency


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is installed by ./scripts/setup.sh --browser")
def test_upload_a_csv_and_pick_it_as_a_task(tmp_path, shared_cache):
    rows = ["review,sentiment"] + [f"great product {i}, works well,good" for i in range(20)] + \
           [f"broke after {i} days,bad" for i in range(20)] + ["great product 1, works well,good", ",bad"]
    csv_file = tmp_path / "shop-reviews.csv"
    csv_file.write_text("\n".join(rows[:1] + [f'"{r.rsplit(",", 1)[0]}",{r.rsplit(",", 1)[1]}' for r in rows[1:]]))
    with running_server(tmp_path, shared_cache) as url, browser_page() as page:
        page.goto(f"{url}/run")
        page.get_by_role("combobox", name=re.compile("^Task")).click()
        page.get_by_role("option", name="Your own data: upload a labelled CSV").click()
        page.locator("input[type=file]").set_input_files(str(csv_file))
        expect(page.get_by_text("Found 40 usable rows").first).to_be_visible()
        expect(page.get_by_text("1 empty, 1 duplicate").first).to_be_visible()
        page.get_by_role("button", name="Use this data").click()
        expect(page.get_by_text("Macro F1").first).to_be_visible()
        expect(page.get_by_role("button", name="Run comparison")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "run-page-own-data.png"), full_page=True)
