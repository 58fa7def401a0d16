"""A real browser against a workshop: `./scripts/run.sh --workshop` listens on every interface and prints a fresh
access code; chromium sees only the sign-in form, a wrong code is refused, the printed code opens Home; a shared
What-if link asks again (a new browser session) and opens its scenario; an attendee's History has no delete
controls. Screenshots in test-artifacts/."""

import re
import shutil

import pytest
from browser_support import ARTIFACTS, browser_page, running_server
from conftest import seed_run

from engine.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import expect  # noqa: E402 - playwright is a test dependency


@pytest.fixture
def workshop(tmp_path, shared_cache):
    """A workshop server on a home holding one finished run; yields its URL and the code it printed."""
    seed_run(Store(tmp_path / "rightsize.sqlite"), ("minilm-l3",), ("fp32", "int8-dynamic"))
    with running_server(tmp_path, shared_cache, ("--workshop",)) as url:
        printed = (tmp_path / "server.log").read_text()
        code = re.search(r"Access code for attendees: +(\S+)", printed)
        assert code and "Workshop mode: listening on every network interface" in printed, printed[-2000:]
        yield url, code.group(1)


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is installed by ./scripts/setup.sh --browser")
def test_sign_in_with_the_printed_code(workshop):
    url, code = workshop
    with browser_page() as page:
        page.goto(url)
        field = page.get_by_label("Access code")
        expect(field).to_be_visible()
        expect(page.get_by_test_id("stSidebarNavItems")).to_have_count(0)  # no page is listed before the code
        page.screenshot(path=str(ARTIFACTS / "workshop-sign-in.png"))

        field.fill("wrong-code")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("That code is not right")).to_be_visible()
        expect(page.get_by_text("how small can your AI model be")).to_have_count(0)

        field.fill(code.upper())  # typed off the projector in capitals: still right
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name=re.compile("how small can your AI model be"))).to_be_visible()
        expect(page.get_by_text("Signed in as attendee")).to_be_visible()

        page.screenshot(path=str(ARTIFACTS / "workshop-home.png"))

        # A shared What-if link (a new browser session) asks for the code too, then opens that very scenario
        page.goto(f"{url}/whatif?region=FRA")
        expect(page.get_by_label("Access code")).to_be_visible()
        expect(page.get_by_text("Grid: France")).to_have_count(0)
        page.get_by_label("Access code").fill(code)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Grid: France (FRA)").first).to_be_visible()

        page.get_by_test_id("stSidebarNavItems").get_by_role("link", name="History").click()
        expect(page.get_by_text("Trials: 2 of 2")).to_be_visible()
        page.get_by_text("Delete a trial or a run").click()
        expect(page.get_by_text("is for the workshop's facilitator")).to_be_visible()
        expect(page.get_by_role("button", name="Delete run")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "workshop-history-attendee.png"), full_page=True)
