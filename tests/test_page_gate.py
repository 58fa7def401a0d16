"""The workshop sign-in (app/gate.py) through the real entry point, and the facilitator's right to delete on
History. Without an access code (a single-user install) neither exists: the other page tests run that way."""

from pathlib import Path

import pytest
from conftest import seed_run
from streamlit.testing.v1 import AppTest

from app import access
from app.gate import ROLE_KEY

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
HISTORY = str(ROOT / "pages" / "history.py")
CODE, FACILITATOR = "k7mq-2xpa", "fxm7-nb6z-yv42-5zx2"
HOME_TITLE = "Rightsize: how small can your AI model be?"


@pytest.fixture
def workshop(monkeypatch):
    """Workshop mode as app/serve.py starts it: both codes in the server's environment."""
    monkeypatch.setenv(access.ACCESS_VAR, CODE)
    monkeypatch.setenv(access.FACILITATOR_VAR, FACILITATOR)
    monkeypatch.setattr(access, "WRONG_CODE_DELAY_S", 0.0)
    access.THROTTLE.clear()
    yield
    access.THROTTLE.clear()


def open_main() -> AppTest:
    return AppTest.from_file(MAIN, default_timeout=30).run()


def sign_in(at: AppTest, code: str) -> AppTest:
    at.text_input(key="gate_code").input(code)
    return at.button[0].click().run()  # the form's only button: Sign in


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_without_a_code_only_the_sign_in_form_shows(store, workshop):
    at = open_main()
    assert not at.exception
    assert titles(at) == ["Rightsize"] and at.text_input(key="gate_code").label == "Access code"
    assert not at.get("page_link") and not at.info  # no page ran


def test_a_wrong_code_says_so_and_shows_nothing_else(store, workshop):
    at = sign_in(open_main(), "k7mq-2xpb")
    assert not at.exception
    assert "not right" in at.error[0].value
    assert titles(at) == ["Rightsize"] and ROLE_KEY not in at.session_state


def test_the_access_code_opens_the_pages_as_an_attendee(store, workshop):
    at = sign_in(open_main(), " K7MQ 2XPA ")  # as typed off a projector
    assert not at.exception
    assert titles(at) == [HOME_TITLE]
    assert at.session_state[ROLE_KEY] == "attendee"
    assert any("Signed in as **attendee**" in c.value for c in at.sidebar.caption)


def test_the_facilitator_code_opens_the_pages_as_facilitator_and_sign_out_closes_them(store, workshop):
    at = sign_in(open_main(), FACILITATOR)
    assert titles(at) == [HOME_TITLE] and at.session_state[ROLE_KEY] == "facilitator"
    at.button(key="gate_sign_out").click().run()
    assert titles(at) == ["Rightsize"] and ROLE_KEY not in at.session_state


def test_guessing_is_throttled(store, workshop):
    at = open_main()
    for _ in range(access.THROTTLE.max_failures):
        at = sign_in(at, "wrong-guess")
    at = sign_in(at, CODE)  # even the right code waits once a client has guessed too often
    assert "Too many wrong codes" in at.error[0].value and ROLE_KEY not in at.session_state


def test_a_single_user_install_opens_home_without_a_form(store):
    at = open_main()
    assert not at.exception
    assert titles(at) == [HOME_TITLE] and not at.text_input


def open_history(role: str | None) -> AppTest:
    at = AppTest.from_file(HISTORY, default_timeout=60)
    if role:
        at.session_state[ROLE_KEY] = role
    return at.run()


def test_an_attendee_cannot_delete_runs_or_trials(store, workshop):
    job = seed_run(store, ("minilm-l3",), ("fp32", "int8-dynamic"))
    at = open_history("attendee")
    assert not at.exception
    keys = {w.key for w in at.selectbox}
    assert "history_delete_trial" not in keys and "history_delete_job" not in keys
    assert any("for the workshop's facilitator" in c.value for c in at.caption)
    assert "history_model" in keys  # the rest of History is there
    assert store.job(job) is not None


def test_the_facilitator_deletes_a_run(store, workshop):
    job = seed_run(store, ("minilm-l3",), ("fp32", "int8-dynamic"))
    at = open_history("facilitator")
    at.selectbox(key="history_delete_job").set_value(job).run()
    at.checkbox(key=f"history_sure_job_{job}").check().run()
    at.button(key="history_delete_job_go").click().run()
    assert not at.exception
    assert store.job(job) is None and "and its 2 trials" in at.success[0].value
