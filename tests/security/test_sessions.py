"""Session cookies and the login rate limit, configured as they run in production."""

import re
import secrets

import pytest

from tests.factories import TEST_PASSWORD

REDIS_URI = "redis://127.0.0.1:6379"


def _log_in_over_https(app, user):
    client = app.test_client()
    # Secure cookies travel over HTTPS only, as in production; so does the CSRF token's session.
    html = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    # Over HTTPS, Flask-WTF also wants a same-site Referer (WTF_CSRF_SSL_STRICT).
    return client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
    )


def _session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_production_session_cookie_is_secure_httponly_and_lax(own_app, team):
    app = own_app(ENV="production")
    response = _log_in_over_https(app, team["clinician"])
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "; SameSite=Lax" in cookie


def test_development_cookie_drops_only_secure_so_http_localhost_works(own_app, team):
    app = own_app(ENV="development")
    response = _log_in_over_https(app, team["clinician"])
    cookie = _session_cookie(response)
    assert "; Secure" not in cookie and "; HttpOnly" in cookie and "; SameSite=Lax" in cookie


def _redis_or_skip():
    import redis

    try:
        connection = redis.Redis.from_url(REDIS_URI, socket_connect_timeout=1)
        connection.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URI} ({error}): the Redis rate-limit storage is untested")
    return connection


@pytest.mark.parametrize("storage", ["memory://", REDIS_URI])
def test_login_is_rate_limited_per_address(own_app, team, storage):
    redis_connection = _redis_or_skip() if storage == REDIS_URI else None
    # A fresh address each run, so no counter left in Redis by an earlier run can interfere.
    address = "10.{}.{}.{}".format(*secrets.token_bytes(3))
    app = own_app(
        ENV="testing",
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_LOGIN="3 per minute",
    )
    client = app.test_client()
    attempt = {"email": team["clinician"].email, "password": "not the password"}

    def post(remote_addr=address):
        return client.post("/login", data=attempt, environ_base={"REMOTE_ADDR": remote_addr})

    try:
        assert [post().status_code for _ in range(4)] == [200, 200, 200, 429]
        assert "Too many attempts" in post().get_data(as_text=True)
        assert post("10.255.255.254").status_code == 200  # others are not held back
        if redis_connection is not None:
            assert list(redis_connection.scan_iter(f"*{address}*")), "no counter in Redis"
    finally:
        if redis_connection is not None:
            for who in (address, "10.255.255.254"):
                for key in redis_connection.scan_iter(f"*{who}*"):
                    redis_connection.delete(key)
