"""Roles detected from the compose model, shaped like the seed stacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stacktasks.compose.model import ComposeModel
from stacktasks.roles import resolve_roles
from stacktasks.settings import resolve


def model(services: dict[str, dict[str, Any]], name: str = "proj") -> ComposeModel:
    return ComposeModel.from_config({"name": name, "services": services})


def roles(m: ComposeModel, **overrides: Any) -> dict[str, str | None]:
    found = resolve_roles(resolve(Path("."), collection_overrides=overrides), m)
    return {role: found.get(role).service for role in ("app", "db", "redis", "front")}


def test_fastapi_astro_stack_finds_every_role() -> None:
    m = model(
        {
            "backend": {"build": {"context": "./backend"}},
            "frontend": {"build": {"context": "./frontend"}},
            "worker": {"build": {"context": "./backend"}},
            "db": {"image": "postgres:18-alpine"},
            "redis": {"image": "redis:8.4.0-alpine"},
            "nginx": {"image": "nginx:alpine"},
        }
    )
    assert roles(m) == {"app": "backend", "db": "db", "redis": "redis", "front": "frontend"}


def test_pgvector_postgis_and_timescale_images_are_databases() -> None:
    for image in ("pgvector/pgvector:pg16", "postgis/postgis:16-3.4", "timescale/timescaledb:latest-pg16"):
        assert roles(model({"store": {"image": image}}))["db"] == "store"


def test_valkey_is_redis_but_redis_commander_is_not() -> None:
    m = model({"ui": {"image": "rediscommander/redis-commander"}, "kv": {"image": "valkey/valkey:8"}})
    assert roles(m)["redis"] == "kv"


def test_a_configured_role_is_kept_and_its_source_with_it() -> None:
    settings = resolve(Path("."), collection_overrides={"db": {"service": "postgres-main"}})
    found = resolve_roles(settings, model({"db": {"image": "postgres:16"}}))
    assert found.db.service == "postgres-main"
    assert found.db.reason == "tasks.py collection()"


def test_a_detected_role_says_why() -> None:
    settings = resolve(Path("."))
    found = resolve_roles(settings, model({"postgres": {"image": "postgres:16-alpine"}}))
    assert found.db.reason == 'compose model: image "postgres:16-alpine"'
    assert settings.db.service is None  # settings never change: the detected role is a value of its own


def test_worker_like_services_are_never_the_app() -> None:
    m = model({"celery-worker": {"build": "."}, "beat": {"build": "."}, "site": {"build": "."}})
    assert roles(m)["app"] == "site"


def test_a_stack_with_no_database_has_no_db_role() -> None:
    m = model({"api": {"build": "."}, "redis": {"image": "redis:7-alpine"}})
    assert roles(m)["db"] is None


def test_an_image_only_app_with_a_product_name_is_found_by_what_it_does() -> None:
    m = model(
        {
            "storefront": {
                "image": "ghcr.io/example/storefront:7",
                "depends_on": {"postgres": {}},
                "ports": [{"published": "3300", "target": 3000}],
            },
            "postgres": {"image": "postgres:16-alpine"},
            "mailer": {"image": "ghcr.io/example/mailer:1", "depends_on": {"postgres": {}}},
        }
    )
    found = resolve_roles(resolve(Path(".")), m)
    assert found.app.service == "storefront"
    assert found.app.reason == "compose model: depends on postgres and publishes port 3300"


def test_an_app_behind_a_proxy_that_publishes_no_port_is_the_one_the_proxy_depends_on() -> None:
    m = model(
        {
            "proxy": {"image": "ghcr.io/example/proxy:1", "depends_on": {"tracker": {}}, "ports": ["80:80"]},
            "tracker": {"image": "ghcr.io/example/tracker:5", "depends_on": {"pgdb": {}}},
            "mailer": {"image": "ghcr.io/example/mailer:1", "depends_on": {"pgdb": {}}},
            "pgdb": {"image": "postgres:16-alpine"},
        }
    )
    found = resolve_roles(resolve(Path(".")), m)
    assert found.app.service == "tracker"
    assert found.app.reason == "compose model: depends on pgdb; publishes no port, another service depends on it"


def test_the_only_service_that_depends_on_the_database_is_the_app_even_without_ports() -> None:
    m = model(
        {
            "chat": {"image": "ghcr.io/example/chat:9", "depends_on": {"database": {}, "redis": {}}},
            "database": {"image": "postgres:16-alpine"},
            "redis": {"image": "redis:7-alpine"},
        }
    )
    assert roles(m)["app"] == "chat"


def test_two_port_less_services_on_the_database_with_nothing_in_front_are_no_guess() -> None:
    m = model(
        {
            "ledger": {"image": "ghcr.io/example/ledger:1", "depends_on": {"db": {}}},
            "mailer": {"image": "ghcr.io/example/mailer:1", "depends_on": {"db": {}}},
            "db": {"image": "postgres:16-alpine"},
        }
    )
    assert roles(m)["app"] is None
