"""The workshop sign-in (app/access.py decides, this draws): a code form before any page, the role in the
browser session, and the check destructive actions call. Off on a single-user install (no access code)."""

from __future__ import annotations

import time

import streamlit as st

from app import access

ROLE_KEY = "access_role"  # st.session_state: "attendee" | "facilitator", set by a right code


def role() -> access.Role | None:
    return st.session_state.get(ROLE_KEY)


def signed_in() -> bool:
    return access.may_enter(role(), access.codes_from_env())


def may_delete() -> bool:
    return access.may_delete(role(), access.codes_from_env())


def client() -> str:
    """Whom the throttle counts: the connection's address (None when the browser is on this machine)."""
    try:
        ip = st.context.ip_address
    except Exception:  # no browser connection
        ip = None
    return ip if isinstance(ip, str) else "local"  # AppTest hands out a stand-in object


def check(entered: str) -> str | None:
    """A right code sets the role (None returned); a wrong one waits a little and returns why."""
    who = client()
    wait = access.THROTTLE.wait_s(who)
    if wait:
        return f"Too many wrong codes from this computer: try again in {wait:.0f} s."
    found = access.role_for(entered, access.codes_from_env())
    if found is None:
        access.THROTTLE.failed(who)
        time.sleep(access.WRONG_CODE_DELAY_S)  # blocks only this browser session's script thread
        return "That code is not right. Ask the facilitator for the access code."
    st.session_state[ROLE_KEY] = found
    return None


def sign_in_form() -> None:
    """The only thing a visitor sees before a right code. The code stays out of the page address on purpose:
    an address ends up in browser history, shared links and on the projector."""
    st.title("Rightsize")
    st.caption("This dashboard is shared in a workshop. Type the access code the facilitator gave you.")
    with st.form("gate_form", clear_on_submit=True, enter_to_submit=True):
        code = st.text_input("Access code", type="password", key="gate_code", autocomplete="off")
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if submitted:
        error = check(code)
        if error is None:
            st.rerun()
        st.error(error, icon=":material/lock:")


def sign_out() -> None:
    st.session_state.pop(ROLE_KEY, None)


def sidebar_status() -> None:
    """In workshop mode: who this browser is signed in as, and a way out (to sign in with the other code)."""
    current = role()
    if access.codes_from_env().workshop and current:
        with st.sidebar:
            st.caption(f":material/badge: Signed in as **{current}**.")
            st.button("Sign out", on_click=sign_out, key="gate_sign_out", icon=":material/logout:")


def facilitator_only(action: str) -> bool:
    """True when this session may do `action` (a destructive one); otherwise says who may, in one line."""
    if may_delete():
        return True
    st.caption(f":material/lock: {action.capitalize()} is for the workshop's facilitator: sign out (sidebar) and "
               "sign in with the facilitator code to do it.")
    return False
