"""The protocols and instruments the running app loaded at start-up."""

from flask import current_app


def protocols() -> dict:
    """Every loaded protocol version, keyed `id@version`."""
    return current_app.extensions["psiflow"]["protocols"]


def protocol(key: str):
    return protocols()[key]


def instruments() -> dict:
    return current_app.extensions["psiflow"]["instruments"]


def scenarios() -> dict:
    """Every training scenario, keyed by id (see domain/scenarios.py)."""
    return current_app.extensions["psiflow"]["scenarios"]


def current_protocols() -> list:
    """The newest version of each protocol: the ones a new course may start on."""
    newest: dict = {}
    for p in protocols().values():
        if p.id not in newest or _version_key(p.version) > _version_key(newest[p.id].version):
            newest[p.id] = p
    return sorted(newest.values(), key=lambda p: p.name)


def _version_key(version: str) -> tuple:
    return tuple(int(x) if x.isdigit() else x for x in version.split("."))
