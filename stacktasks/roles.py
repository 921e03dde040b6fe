"""Which service plays which role (app, db, redis, front), read from the compose model.

Only roles that no configuration set are detected, and each records why it was chosen. The
result is a ``Roles`` value of its own: settings never change once resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from .compose.model import ComposeModel
from .settings import Settings, is_default

RoleName = Literal["app", "db", "redis", "front"]
ROLE_NAMES: tuple[RoleName, ...] = ("app", "db", "redis", "front")

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
            if {"POSTGRES_PASSWORD", "POSTGRES_DB"} & set(model.environment(s)) and not model.has_build(s)
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


def detect_app(model: ComposeModel, taken: set[str], database: str | None = None) -> tuple[str, str] | None:
    for name in APP_NAMES:
        if name in model.services and name not in taken:
            return name, "service name"
    candidates = [s for s in model.services if s not in taken and not any(word in s for word in NOT_APP)]
    for service in candidates:
        if model.has_build(service):
            return service, "first service built from source"
    # An image-only app with a product name: what it does tells it apart from the rest.
    on_database = [s for s in candidates if database and database in (model.services[s].get("depends_on") or [])]
    for service in on_database:
        ports = model.published_ports(service)
        if ports:
            return service, f"depends on {database} and publishes port {ports[0][1]}"
    # Behind a proxy an app publishes nothing: the one the proxy (or anything else) depends on,
    # else the only one that depends on the database.
    fronted = [s for s in on_database if any(s in (d.get("depends_on") or []) for d in model.services.values())]
    if len(fronted) == 1:
        return fronted[0], f"depends on {database}; publishes no port, another service depends on it"
    if len(on_database) == 1:
        return on_database[0], f"the only service that depends on {database} (it publishes no port)"
    return None


@dataclass(frozen=True)
class Role:
    """The service playing one role, and why: the setting's source, or what detection saw."""

    service: str | None
    reason: str


@dataclass(frozen=True)
class Roles:
    """Which service plays each role, resolved once per invocation from settings and the model."""

    app: Role
    db: Role
    redis: Role
    front: Role

    def get(self, name: RoleName) -> Role:
        return cast(Role, getattr(self, name))

    def by_service(self) -> dict[str, RoleName]:
        """service -> role, for the services that play one."""
        return {role.service: name for name in ROLE_NAMES if (role := self.get(name)).service}


def configured_roles(settings: Settings) -> Roles:
    """The roles as settings give them, for a project with no compose model to read."""
    return resolve_roles(settings, None)


def resolve_roles(settings: Settings, model: ComposeModel | None) -> Roles:
    """Configured roles as they are; the rest detected from ``model`` (db, redis, front, app order)."""
    found: dict[str, Role] = {}
    for name in ROLE_NAMES:
        key = f"{name}.service"
        if not is_default(settings, key):
            found[name] = Role(settings.get(key), settings.sources.get(key, ""))
    taken = {role.service for role in found.values() if role.service}
    detectors: list[tuple[RoleName, Callable[[ComposeModel], tuple[str, str] | None]]] = [
        ("db", detect_db),
        ("redis", detect_redis),
        ("front", lambda m: detect_front(m, taken)),
        ("app", lambda m: detect_app(m, taken, found["db"].service if "db" in found else None)),
    ]
    for name, detect in detectors:
        if name in found:
            continue
        hit = detect(model) if model is not None else None
        if hit:
            found[name] = Role(hit[0], f"compose model: {hit[1]}")
            taken.add(hit[0])
        else:
            found[name] = Role(None, "not configured" if model is None else "not found in the compose model")
    return Roles(**found)
