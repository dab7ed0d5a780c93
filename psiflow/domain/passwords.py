"""The password policy (NIST SP 800-63B §5.1.1.2: length and a blocklist, no composition rules)."""

MIN_LENGTH = 12

# Passwords that appear at the top of every published breach-frequency list, plus the
# product's own words: an attacker tries these first.
COMMON_PASSWORDS = frozenset(
    """
    123456789012 1234567890123 password1234 password12345 passwordpassword qwertyuiopas
    qwerty123456 iloveyou1234 111111111111 000000000000 123123123123 abcdefghijkl
    abc123456789 letmein12345 welcome12345 welcome123456 administrator admin1234567
    changeme1234 football1234 baseball1234 sunshine1234 princess1234 monkey123456
    dragon123456 trustno11234 superman1234 starwars1234 qazwsxedcrfv 1q2w3e4r5t6y
    zaq12wsxcde3 password123! p@ssw0rd1234 passw0rd1234 correcthorsebatterystaple
    psiflow-demo psiflowpsiflow psilocybin123 therapist123 clinician123 supervisor123
    """.split()
)


def password_problems(password: str, email: str = "") -> list[str]:
    """Why `password` may not be used; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        problems.append("This password is too common or too simple; choose another.")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append("Do not use your email address in your password.")
    return problems
