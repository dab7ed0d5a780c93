"""A small HTTP client that behaves like one person's browser: one keep-alive connection,
its own session cookies and the CSRF token of its session. Standard library only.
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from psiflow.web.query_count import HEADER as QUERY_COUNT_HEADER

CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*?value="([^"]+)"')


class UnexpectedResponse(RuntimeError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    location: str | None
    queries: int | None
    seconds: float
    # What else the server said in its headers (e.g. whether an entry was recorded or repeated).
    headers: http.client.HTTPMessage | None = None


class Browser:
    def __init__(self, host: str, port: int, timeout: float = 60.0):
        self._connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.csrf_token: str | None = None

    def close(self) -> None:
        self._connection.close()

    def forget_session(self) -> None:
        self.cookies.clear()
        self.csrf_token = None

    def request(
        self, method: str, path: str, form: dict | None = None, expect: int | None = None
    ) -> Response:
        headers = {"Host": "localhost", "Accept": "text/html"}
        body = None
        if form is not None:
            if self.csrf_token:
                form = {"csrf_token": self.csrf_token, **form}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        try:
            response = self._send(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed a kept-alive connection between requests: open a new one.
            self._connection.close()
            start = time.perf_counter()
            response = self._send(method, path, body, headers)
        content = response.read()
        seconds = time.perf_counter() - start
        self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
        token = CSRF_FIELD.search(content)
        if token:
            self.csrf_token = token.group(1).decode()
        queries = response.headers.get(QUERY_COUNT_HEADER)
        result = Response(
            status=response.status,
            body=content,
            location=response.headers.get("Location"),
            queries=int(queries) if queries is not None else None,
            seconds=seconds,
            headers=response.headers,
        )
        if expect is not None and result.status != expect:
            raise UnexpectedResponse(f"{method} {path} answered {result.status}, expected {expect}")
        return result

    def _send(self, method, path, body, headers) -> http.client.HTTPResponse:
        self._connection.request(method, path, body=body, headers=headers)
        return self._connection.getresponse()

    def _keep_cookies(self, headers: list[str]) -> None:
        for header in headers:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def log_in(self, email: str, password: str) -> None:
        """Through the real form: fetch it (for its CSRF token), post it, land on the board."""
        self.forget_session()
        self.request("GET", "/login", expect=200)
        self.request("POST", "/login", {"email": email, "password": password}, expect=302)
        # Logging in starts a new session, with a new CSRF token: the board carries it.
        self.request("GET", "/", expect=200)
