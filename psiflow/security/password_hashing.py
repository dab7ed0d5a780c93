"""Argon2id password hashes, computed by libsodium (through PyNaCl).

libsodium's Argon2id uses the CPU's vector instructions (AVX2, AVX-512) and the reference code
in argon2-cffi does not: the same hash at the same setting took ~10 ms of one core here instead
of ~20 ms, and a log-in or a signature waits for one. A faster check at an equally strong setting
costs an attacker nothing: their hardware is already optimised. Hashes are the standard PHC
strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), so those stored by earlier releases, whatever
their setting, still verify and are re-hashed at the next log-in.
"""

from __future__ import annotations

import re

from nacl import pwhash
from nacl.exceptions import CryptoError

from psiflow.domain.passwords import ARGON2_LANES, ARGON2_MEMORY_KIB, ARGON2_TIME_COST

_SETTING = re.compile(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")
_CURRENT = (ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_LANES)


def hash_password(password: str) -> str:
    return pwhash.argon2id.str(
        password.encode(), opslimit=ARGON2_TIME_COST, memlimit=ARGON2_MEMORY_KIB * 1024
    ).decode("ascii")


def password_matches(stored_hash: str, password: str) -> bool:
    """False for a wrong password and for a stored value that is not an Argon2 hash."""
    try:
        return pwhash.verify(stored_hash.encode(), password.encode())
    except CryptoError:
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made at another setting than today's (or is no Argon2id hash)."""
    found = _SETTING.match(stored_hash)
    return found is None or tuple(int(value) for value in found.groups()) != _CURRENT
