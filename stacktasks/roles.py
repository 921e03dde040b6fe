"""Which service plays which role (app, db, redis, front), read from the compose model.

Only roles that no configuration set are filled, and each records why it was chosen.
"""

from __future__ import annotations

from collections.abc import Callable

from .compose import ComposeModel
from .settings import Settings, is_default

DB_IMAGES = ("postgres", "pgvector", "postgis", "timescaledb")
REDIS_IMAGES = ("redis", "valkey")
NOT_A_SERVER = ("commander", "insight", "exporter", "admin")
APP_NAMES = ("app", "api", "backend", "web", "server", "django")
FRONT_NAMES = ("frontend", "front", "astro")
NOT_APP = ("worker", "beat", "flower", "celery", "nginx", "proxy", "scheduler")


def _repository(image: str) -> str:
    """`registry:5000/org/name:tag@sha` -> `org/name`, lower-cased."""
    image = image.split("@")[0].lower()
    last = image.rsplit("/", 1)
    if ":" in last[-1]:
        last[-1] = last[-1].split(":")[0]
    return "/".join(last)


def _by_image(model: ComposeModel, words: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    for service in model.services:
        image = model.image(service)
        if not image:
            continue
        repository = _repository(image)
        if any(w in repository for w in words) and not any(w in repository for w in NOT_A_SERVER):
            found.append((service, f'image "{image}"'))
    return found


def _prefer(candidates: list[tuple[str, str]], names: tuple[str, ...]) -> tuple[str, str] | None:
    if not candidates:
        return None
    for name in names:
        for service, why in candidates:
            if service == name:
                return service, why
    return candidates[0]


def detect_db(model: ComposeModel) -> tuple[str, str] | None:
    candidates = _by_image(model, DB_IMAGES)
    if not candidates:
        candidates = [
            (s, "POSTGRES_* in its environment")
            for s in model.services
            if {"POSTGRES_PASSWORD", "POSTGRES_DB"} & set(model.environment(s))
            and not model.has_build(s)
        ]
    return _prefer(candidates, ("db", "postgres", "database", "postgresql"))


def detect_redis(model: ComposeModel) -> tuple[str, str] | None:
    return _prefer(_by_image(model, REDIS_IMAGES), ("redis", "cache", "valkey"))


def detect_front(model: ComposeModel, taken: set[str]) -> tuple[str, str] | None:
    for name in FRONT_NAMES:
        if name in model.services and name not in taken:
            return name, "service name"
    for service in model.services:
        image = model.image(service) or ""
        if service not in taken and _repository(image).endswith("node") and not model.published_ports(service):
            return service, f'image "{image}" with no published port'
    return None


def detect_app(model: ComposeModel, taken: set[str]) -> tuple[str, str] | None:
    for name in APP_NAMES:
        if name in model.services and name not in taken:
            return name, "service name"
    for service in model.services:
        if service in taken or any(word in service for word in NOT_APP):
            continue
        if model.has_build(service):
            return service, "first service built from source"
    return None


def apply_compose_model(settings: Settings, model: ComposeModel) -> None:
    """Fill roles and the project name that no configuration set."""
    if is_default(settings, "project_name") and model.name:
        settings.set("project_name", model.name, "compose model: project name")
    taken = {
        settings.get(f"{role}.service")
        for role in ("app", "db", "redis", "front")
        if settings.get(f"{role}.service")
    }
    detectors: list[tuple[str, Callable[[], tuple[str, str] | None]]] = [
        ("db", lambda: detect_db(model)),
        ("redis", lambda: detect_redis(model)),
        ("front", lambda: detect_front(model, taken)),
        ("app", lambda: detect_app(model, taken)),
    ]
    for role, detect in detectors:
        key = f"{role}.service"
        if not is_default(settings, key):
            continue
        found = detect()
        if found:
            service, why = found
            settings.set(key, service, f"compose model: {why}")
            taken.add(service)
