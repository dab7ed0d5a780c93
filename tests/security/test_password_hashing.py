"""Password hashes: today's Argon2id setting, earlier releases' hashes, and what is not a hash."""

import pytest

from psiflow.domain.passwords import ARGON2_MEMORY_KIB, ARGON2_TIME_COST
from psiflow.security.password_hashing import hash_password, needs_rehash, password_matches
from tests.factories import EARLIER_RELEASE_HASHES, TEST_PASSWORD


def test_a_new_hash_is_argon2id_at_todays_setting_with_its_own_salt():
    first, second = hash_password(TEST_PASSWORD), hash_password(TEST_PASSWORD)
    setting = f"$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_TIME_COST},p=1$"
    assert first.startswith(setting) and second.startswith(setting)
    assert first != second
    assert password_matches(first, TEST_PASSWORD) and password_matches(second, TEST_PASSWORD)
    assert not needs_rehash(first)


def test_a_wrong_password_does_not_match():
    stored = hash_password(TEST_PASSWORD)
    assert not password_matches(stored, TEST_PASSWORD + " ")
    assert not password_matches(stored, "")


def test_non_ascii_passwords_round_trip():
    stored = hash_password("Atemübung für Zoë 🌿")
    assert password_matches(stored, "Atemübung für Zoë 🌿")
    assert not password_matches(stored, "Atemubung fur Zoe 🌿")


@pytest.mark.parametrize("earlier", EARLIER_RELEASE_HASHES)
def test_hashes_of_earlier_releases_still_verify_and_ask_to_be_rehashed(earlier):
    assert password_matches(earlier, TEST_PASSWORD)
    assert not password_matches(earlier, "a wrong passphrase")
    assert needs_rehash(earlier)


@pytest.mark.parametrize("stored", ["", "not a hash", "$2b$12$abcdefghijklmnopqrstuv", "!"])
def test_a_stored_value_that_is_no_argon2_hash_matches_nothing(stored):
    assert not password_matches(stored, TEST_PASSWORD)
    assert needs_rehash(stored)
