"""Who may enter and who may delete (app/access.py): codes compared as people type them, roles, the checks
the launcher makes, and the throttle that slows guessing."""

import pytest

from app import access
from app.access import Codes, Throttle

WORKSHOP = Codes(access="k7mq-2xpa", facilitator="fxm7-nb6z-yv42-5zx2")


def test_a_single_user_install_has_no_gate_and_every_right():
    assert not Codes().workshop
    assert access.may_enter(None, Codes()) and access.may_delete(None, Codes())
    assert access.codes_from_env({}) == Codes()


def test_codes_come_from_the_environment():
    env = {access.ACCESS_VAR: " k7mq-2xpa ", access.FACILITATOR_VAR: "fxm7-nb6z-yv42-5zx2"}
    assert access.codes_from_env(env) == WORKSHOP and WORKSHOP.workshop


@pytest.mark.parametrize(("typed", "role"), [
    ("k7mq-2xpa", "attendee"),
    ("K7MQ 2XPA", "attendee"),  # read off a projector: case, spaces and dashes do not matter
    (" k7mq2xpa\n", "attendee"),
    ("fxm7-nb6z-yv42-5zx2", "facilitator"),
    ("k7mq-2xpb", None),
    ("k7mq", None),  # a prefix is not the code
    ("", None),
    ("   ", None),
])
def test_the_role_a_code_grants(typed, role):
    assert access.role_for(typed, WORKSHOP) == role


def test_an_unset_facilitator_code_matches_nothing():
    assert access.role_for("", Codes(access="k7mq-2xpa")) is None
    assert not access.same_code("", "")


def test_in_a_workshop_only_the_facilitator_deletes():
    assert not access.may_enter(None, WORKSHOP)
    assert access.may_enter("attendee", WORKSHOP) and not access.may_delete("attendee", WORKSHOP)
    assert access.may_enter("facilitator", WORKSHOP) and access.may_delete("facilitator", WORKSHOP)


def test_new_codes_are_readable_and_random():
    codes = {access.new_code(2) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        first, second = code.split("-")
        assert len(first) == len(second) == 4 and set(first + second) <= set(access.ALPHABET)
    assert not set("01ilo") & set(access.ALPHABET)  # nothing a projector blurs


def test_code_problems():
    assert access.code_problems(WORKSHOP) == []
    assert "shorter than 6" in access.code_problems(Codes(access="ab-cd"))[0]
    assert "the same" in access.code_problems(Codes(access="orchid-42", facilitator="ORCHID42"))[0]


def test_the_throttle_stops_a_client_after_five_wrong_codes_for_a_minute():
    throttle = Throttle(max_failures=5, window_s=60)
    for t in range(5):
        assert throttle.wait_s("10.0.0.7", now=100 + t) == 0
        throttle.failed("10.0.0.7", now=100 + t)
    assert throttle.wait_s("10.0.0.7", now=105) == pytest.approx(55)  # until the first failure is a minute old
    assert throttle.wait_s("10.0.0.8", now=105) == 0  # another attendee is not held up
    assert throttle.wait_s("10.0.0.7", now=160.5) == 0  # one failure has aged out: one more try
    throttle.failed("10.0.0.7", now=160.5)
    assert throttle.wait_s("10.0.0.7", now=160.5) == pytest.approx(0.5)  # five again within the minute
    throttle.clear()
    assert throttle.wait_s("10.0.0.7", now=161) == 0
