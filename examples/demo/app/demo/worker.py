"""Moves queued notes from Redis into PostgreSQL."""

import time

from . import store


def main():
    cache = store.cache()
    while True:
        job = cache.blpop("jobs", timeout=5)
        if job is None:
            continue
        try:
            store.add_note(job[1].decode("utf-8", "replace"))
        except Exception as error:  # table missing before the first migration: retry later
            print(f"worker: {error}", flush=True)
            cache.lpush("jobs", job[1])
            time.sleep(2)


if __name__ == "__main__":
    main()
