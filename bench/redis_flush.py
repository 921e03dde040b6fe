"""redis.flush-ratelimits against the seed's `KEYS | xargs DEL`, side by side in one run.

One million `ratelimit:*` keys among one million others. Three ways:

- direct, on the host Redis: the seed's pipeline `redis-cli KEYS 'ratelimit:*' | xargs redis-cli DEL`
  against `inv redis.flush-ratelimits` (URL straight to the server);
- through compose, on the demo stack's redis: the seed's pipeline as documented,
  `docker compose exec redis redis-cli KEYS … | xargs docker compose exec -T redis redis-cli DEL`
  (the first exec also gets -T: without a terminal compose refuses to allocate one), against
  `inv redis.flush-ratelimits` on the same stack (the URL names the service; the published port
  is used).

For each: wall time, keys left that should have gone, and the worst latency a concurrent client's
PING loop saw while it ran. Rounds interleave; medians are printed.
Targets: <= 0.8x the direct seed pipeline; <= 0.2x the documented one; worst PING <= 25 ms.

    python bench/redis_flush.py [--rounds 3] [--keys 1000000] [--no-compose]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
INV = str(Path(sys.executable).with_name("inv"))
HOST_DB = 9
DEMO_PROJECT = "stacktasks-bench-redis"
DEMO_PORT = 31379


def fill(client: redis.Redis, prefix: str, number: int) -> None:
    batch = 1000
    pipe = client.pipeline(transaction=False)
    for start in range(0, number, batch):
        pipe.mset({f"{prefix}{i}": b"1" for i in range(start, min(start + batch, number))})
        if len(pipe) >= 50:
            pipe.execute()
    pipe.execute()


class PingWatch:
    """A client PINGing in a loop; the worst round trip seen while armed."""

    def __init__(self, host: str, port: int) -> None:
        self.client = redis.Redis(host=host, port=port)
        self.worst = 0.0
        self.armed = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            self.client.ping()
            elapsed = time.perf_counter() - start
            if self.armed:
                self.worst = max(self.worst, elapsed)
            time.sleep(0.001)

    def measure(self, argv: list[str] | str, cwd: Path, shell: bool = False) -> tuple[float, float]:
        self.worst = 0.0
        self.armed = True
        start = time.perf_counter()
        result = subprocess.run(
            argv,
            cwd=cwd,
            shell=shell,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            executable="/bin/bash" if shell else None,
        )
        elapsed = time.perf_counter() - start
        self.armed = False
        if result.returncode != 0:
            raise SystemExit(f"{argv} failed: {result.stderr[-2000:]}")
        return elapsed, self.worst

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def left(client: redis.Redis) -> int:
    return sum(1 for _ in client.scan_iter(match=b"ratelimit:*", count=10000))


def run_pair(
    name: str,
    client: redis.Redis,
    watch: PingWatch,
    seed: tuple[str, Path],
    ours: tuple[list[str], Path],
    keys: int,
    results: dict[str, dict[str, list[float]]],
) -> None:
    for label, (argv, cwd, shell) in (
        (f"{name}: seed KEYS | xargs DEL", (seed[0], seed[1], True)),
        (f"{name}: inv redis.flush-ratelimits", (ours[0], ours[1], False)),
    ):
        fill(client, "ratelimit:user:", keys)
        seconds, worst = watch.measure(argv, cwd, shell=shell)
        remaining = left(client)
        if remaining:
            raise SystemExit(f"{label} left {remaining} matching keys")
        entry = results.setdefault(label, {"seconds": [], "worst_ping_ms": []})
        entry["seconds"].append(seconds)
        entry["worst_ping_ms"].append(worst * 1000)
        print(f"  {label:<45} {seconds:7.2f} s   worst PING {worst * 1000:7.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--no-compose", action="store_true", help="only the direct comparison")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stacktasks-bench-redis-"))
    results: dict[str, dict[str, list[float]]] = {}

    host = redis.Redis(host="127.0.0.1", port=6379, db=HOST_DB)
    host.flushdb()
    fill(host, "session:", options.keys)
    direct = work / "direct"
    direct.mkdir()
    (direct / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    (direct / ".env").write_text(f"REDIS_URL=redis://127.0.0.1:6379/{HOST_DB}\n")
    direct_seed = (f"redis-cli -n {HOST_DB} KEYS 'ratelimit:*' | xargs redis-cli -n {HOST_DB} DEL", direct)

    os.environ["INVOKE_STACKTASKS_PROJECT_NAME"] = DEMO_PROJECT  # for the inv runs on the demo
    demo = work / "demo"
    demo_client = None
    if not options.no_compose:
        shutil.copytree(REPO / "examples/demo", demo, ignore=shutil.ignore_patterns(".env", "backups", "__pycache__"))
        env = (REPO / "examples/demo/.env.example").read_text() + f"REDIS_PORT={DEMO_PORT}\n"
        (demo / ".env").write_text(env)
        subprocess.run([INV, "up", "-s", "redis"], cwd=demo, check=True, capture_output=True, env=dict(os.environ))
        demo_client = redis.Redis(host="127.0.0.1", port=DEMO_PORT)
        demo_client.flushdb()
        fill(demo_client, "session:", options.keys)
    compose = f"docker compose -p {DEMO_PROJECT}"
    demo_seed = (
        f'{compose} exec -T redis redis-cli KEYS "ratelimit:*" | xargs {compose} exec -T redis redis-cli DEL',
        demo,
    )
    demo_ours = [INV, "redis.flush-ratelimits"]

    watch_host = PingWatch("127.0.0.1", 6379)
    watch_demo = PingWatch("127.0.0.1", DEMO_PORT) if demo_client else None
    try:
        for round_number in range(options.rounds):
            print(f"round {round_number + 1}", flush=True)
            run_pair(
                "direct",
                host,
                watch_host,
                direct_seed,
                ([INV, "redis.flush-ratelimits"], direct),
                options.keys,
                results,
            )
            if demo_client and watch_demo:
                run_pair("compose", demo_client, watch_demo, demo_seed, (demo_ours, demo), options.keys, results)
    finally:
        watch_host.close()
        if watch_demo:
            watch_demo.close()
        host.flushdb()
        if demo_client:
            subprocess.run(["docker", "compose", "-p", DEMO_PROJECT, "down", "-v"], cwd=demo, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    medians = {label: {k: statistics.median(v) for k, v in entry.items()} for label, entry in results.items()}
    print(f"\nmedians ({options.keys} ratelimit:* keys among {options.keys} others, {options.rounds} rounds):")
    for label, entry in medians.items():
        print(f"  {label:<45} {entry['seconds']:7.2f} s   worst PING {entry['worst_ping_ms']:7.1f} ms")
    ours = medians["direct: inv redis.flush-ratelimits"]
    direct_ratio = ours["seconds"] / medians["direct: seed KEYS | xargs DEL"]["seconds"]
    print(f"\ndirect:  ours / seed pipeline = {direct_ratio:.3f}  (target <= 0.8)")
    if "compose: seed KEYS | xargs DEL" in medians:
        seed = medians["compose: seed KEYS | xargs DEL"]["seconds"]
        ratio = medians["compose: inv redis.flush-ratelimits"]["seconds"] / seed
        print(f"compose: ours / documented seed pipeline = {ratio:.3f}  (target <= 0.2)")
    print(f"worst PING during ours (direct) = {ours['worst_ping_ms']:.1f} ms  (target <= 25 ms)")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "redis.json").write_text(json.dumps({"runs": results, "medians": medians}, indent=2))


if __name__ == "__main__":
    main()
