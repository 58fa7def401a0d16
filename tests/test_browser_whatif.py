"""A real browser on the What-if page: the server's store is seeded with measured-looking records (no model
is loaded), the page shows a variant's energy and CO2e; picking another grid in the page changes the CO2e and
leaves the energy alone, and the page address follows. Screenshot in test-artifacts/."""

import re
import shutil

import pytest
from browser_support import ARTIFACTS, browser_page, running_server
from conftest import seed_run

from engine.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import expect  # noqa: E402 - playwright is a test dependency

ENERGY, CO2E = "Energy over 3 years", "CO2e over 3 years"


@pytest.fixture
def seeded_server(tmp_path, shared_cache):
    """The dashboard on a home whose store already holds one finished run (3 models x 2 techniques)."""
    seed_run(Store(tmp_path / "rightsize.sqlite"), ("minilm-l3", "minilm-l6", "mpnet-base"), ("fp32", "int8-dynamic"))
    with running_server(tmp_path, shared_cache) as url:
        yield url


def metric_value(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is installed by ./scripts/setup.sh --browser")
def test_another_grid_changes_co2e_not_energy(seeded_server):
    with browser_page() as page:
        page.goto(seeded_server)
        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="What-if").click()

        expect(metric_value(page, CO2E)).to_be_visible()
        expect(page.get_by_text("Grid: United States (USA)").first).to_be_visible()
        energy, co2e = metric_value(page, ENERGY).inner_text(), metric_value(page, CO2E).inner_text()
        assert re.search(r"\d", energy) and re.search(r"\d", co2e)

        page.get_by_test_id("stSelectbox").filter(has_text="Electricity grid").click()
        page.keyboard.type("Norway")
        page.get_by_role("option", name=re.compile(r"^Norway \(NOR\)")).click()

        expect(page.get_by_text("Grid: Norway (NOR)").first).to_be_visible()
        expect(metric_value(page, CO2E)).not_to_have_text(co2e)
        expect(metric_value(page, ENERGY)).to_have_text(energy)
        expect(page).to_have_url(re.compile(r"region=NOR"))
        page.screenshot(path=str(ARTIFACTS / "whatif-page.png"), full_page=True)
