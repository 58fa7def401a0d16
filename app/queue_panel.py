"""The Run page's view of the shared queue: who this browser tab is (its token), the job it follows (kept in
the page address, so a reload finds it), what runs now and what waits, and the owner's Cancel."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from engine.queue import QueueRow
from engine.requests import RunRequest
from engine.store import Store

OWNER = "session_owner"
ACTIVE_JOB = "active_job_id"


def session_owner() -> str:
    """This tab's token: from the address after a reload, else new. It buys a fair turn and the right to cancel
    its own jobs, nothing more (workshop access is checked before any page runs)."""
    if OWNER not in st.session_state:
        given = st.query_params.get("session", "")
        st.session_state[OWNER] = given if given.isalnum() and len(given) <= 32 else secrets.token_hex(8)
    return st.session_state[OWNER]


def follow_job(job_id: int, owner: str) -> None:
    """Show this job's progress, here and after a reload (the job and the token go into the address)."""
    st.session_state[ACTIVE_JOB] = job_id
    st.query_params["job"] = str(job_id)
    st.query_params["session"] = owner


def followed_job() -> int | None:
    """The job this tab follows: from its state, else from the address (a reload)."""
    if ACTIVE_JOB not in st.session_state and st.query_params.get("job", "").isdigit():
        st.session_state[ACTIVE_JOB] = int(st.query_params["job"])
    return st.session_state.get(ACTIVE_JOB)


def cancel_job(job_id: int, owner: str) -> None:
    try:
        state = Store().cancel(job_id, owner)
    except (ValueError, PermissionError) as err:
        st.toast(str(err), icon=":material/error:")
        return
    st.toast("Cancelled." if state == "cancelled" else "Stopping: the trial that runs now is being ended.",
             icon=":material/cancel:")


def request_problem(request: RunRequest) -> str:
    """What the engine would refuse about this request, in its words ('' when it would be queued)."""
    try:
        request.validated()
    except (ValueError, ImportError) as err:
        return str(err)
    return ""


def fmt_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _what(row: QueueRow) -> str:
    spec = row.job.spec
    if row.job.kind == "optimize":
        return f"leanest variant of {spec.get('model')}"
    return f"{', '.join(spec.get('models', ()))} x {', '.join(spec.get('techniques', ()))}"


def queue_table(rows: Sequence[QueueRow], owner: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "#": "running" if r.running else r.position,
        "Job": r.job.id,
        "Who": "you" if r.job.owner == owner else "another session" if r.job.owner else "command line",
        "Task": r.job.task,
        "What": _what(r),
        "Trials": r.trials,
        "Starts in": "now" if r.running else f"~{fmt_duration(r.wait_s)}",
        "Done in": f"~{fmt_duration(r.remaining_s)}",
    } for r in rows])


def show_queue(rows: Sequence[QueueRow], owner: str) -> None:
    """The shared queue in the order the worker will take it (round robin across sessions)."""
    if not rows:
        return
    waiting = sum(not r.running for r in rows)
    with st.expander(f"The queue: {sum(r.running for r in rows)} running, {waiting} waiting",
                     icon=":material/queue:"):
        st.dataframe(queue_table(rows, owner), hide_index=True, width="stretch")
        st.caption("Sessions take turns: each gets one run before anyone gets a second. Times are estimated "
                   "from the trials measured on this machine so far.")
