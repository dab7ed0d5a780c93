"""The serving process (wsgi.py) settles the garbage collector once its app is built; an app
built anywhere else (a test, a command, the development server) leaves it alone.

A test here that settles the collector puts it back, so no other test runs under its setting."""

import gc

import pytest

import wsgi
from psiflow import create_app


@pytest.fixture
def collector_put_back():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.parametrize("env", ["production", "development"])
def test_a_served_app_leaves_its_own_objects_out_of_later_collections(
    tmp_path, monkeypatch, env, collector_put_back
):
    monkeypatch.setenv("PSIFLOW_ENV", env)
    monkeypatch.setenv("PSIFLOW_SECRET_KEY", "k" * 64)
    monkeypatch.setenv("PSIFLOW_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    app = wsgi.application()
    assert app.config["ENV"] == env
    assert gc.get_freeze_count() > 10_000  # the app, its models and its catalog
    assert gc.get_threshold()[0] == wsgi.YOUNG_COLLECTION_THRESHOLD
    assert not any(o is app for o in gc.get_objects())  # frozen: no collection walks it


@pytest.mark.parametrize("env", ["production", "testing"])
def test_create_app_leaves_the_collector_as_it_was(tmp_path, env):
    before = gc.get_threshold()
    create_app({"ENV": env, "SECRET_KEY": "k" * 64, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
