"""The password policy: long enough, and not one an attacker tries first."""

import pytest

from psiflow.domain.passwords import COMMON_PASSWORDS, MIN_LENGTH, password_problems


def test_blocklist_holds_hundreds_of_passwords_the_length_rule_alone_would_let_through():
    assert len(COMMON_PASSWORDS) >= 300
    assert all(len(p) >= MIN_LENGTH and p == p.lower() for p in COMMON_PASSWORDS)


@pytest.mark.parametrize(
    "password",
    [
        "Password1234",
        "QWERTYUIOP123",
        "1qaz2wsx3edc",
        "iloveyou12345",
        "liverpool123",
        "Psilocybin123",
        "correcthorsebatterystaple",
    ],
)
def test_common_passwords_are_refused_whatever_their_case(password):
    assert "This password is too common or too simple; choose another." in password_problems(
        password
    )


def test_short_passwords_are_refused():
    assert password_problems("short pass") == [f"Use at least {MIN_LENGTH} characters."]


def test_a_long_uncommon_passphrase_is_accepted():
    assert password_problems("lantern orchard velvet 42", "dana@clinic.test") == []


def test_the_users_own_email_name_is_refused():
    assert "Do not use your email address in your password." in password_problems(
        "dana.rivers-2024!", "dana.rivers@clinic.test"
    )
