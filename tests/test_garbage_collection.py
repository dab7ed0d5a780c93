"""A serving app settles the garbage collector once it is built; a test app leaves it alone.

Each test starts with the collector as the suite found it (conftest.py puts it back)."""

import gc

import pytest

from psiflow import create_app
from psiflow.garbage_collection import YOUNG_COLLECTION_THRESHOLD


@pytest.mark.parametrize("env", ["production", "development"])
def test_a_serving_app_leaves_its_own_objects_out_of_later_collections(tmp_path, env):
    app = create_app(
        {"ENV": env, "SECRET_KEY": "k" * 64, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert gc.get_freeze_count() > 10_000  # the app, its models and its catalog
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD
    assert not any(o is app for o in gc.get_objects())  # frozen: no collection walks it


def test_a_test_app_leaves_the_collector_as_it_was(tmp_path):
    before = gc.get_threshold()
    create_app({"ENV": "testing", "SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
