"""The demo's own tests: run inside the app container by `inv test`."""

import os

from demo import store


def test_redis_round_trip():
    cache = store.cache()
    cache.set("demo:test", "value")
    assert cache.get("demo:test") == b"value"


def test_notes_table_exists_after_migrations():
    note_id = store.add_note("from the tests")
    assert note_id > 0
    assert store.count_notes() >= 1


def test_greeting_comes_from_the_environment():
    assert os.environ["DEMO_GREETING"]
