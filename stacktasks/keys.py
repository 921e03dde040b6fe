"""Every setting's dotted key, for `inv --list`: Invoke maps INVOKE_STACKTASKS_* variables only onto
keys it already knows, so each must be registered, and building them from the typed schema in
settings.py costs start-up time (its dataclasses). tests/unit/test_settings.py checks that this list
and the schema agree."""

from __future__ import annotations

from typing import Any

COLLECTION_KEY = "stacktasks_collection"

SETTING_KEYS = (
    "docker_context",
    "stage_contexts",
    "compose_command",
    "compose_files",
    "project_name",
    "project_directory",
    "profiles",
    "env_files",
    "required_env_files",
    "stage",
    "protected_stages",
    "echo",
    "app.service",
    "app.prefix",
    "app.migrate",
    "app.makemigrations",
    "app.seed",
    "app.test",
    "app.test_service",
    "app.test_compose_files",
    "db.service",
    "db.url_env",
    "db.direct_url_env",
    "db.name",
    "db.user",
    "db.backup_dir",
    "db.keep_automatic",
    "db.compress",
    "db.jobs",
    "db.client",
    "db.client_image",
    "db.wait_timeout",
    "db.maintenance_db",
    "db.target",
    "db.sanitize",
    "db.sanitize_file",
    "db.seed_dump",
    "redis.service",
    "redis.url_env",
    "redis.ratelimit_patterns",
    "redis.target",
    "redis.password_file",
    "front.service",
    "front.build",
    "front.dist",
    "front.watch",
    "hooks.after_up",
    "hooks.after_restore",
    "hooks.after_onboard",
    "hooks.before_reset",
)


def placeholder_tree() -> dict[str, Any]:
    """Every key with the value None: Invoke only maps INVOKE_* variables onto keys it knows."""
    tree: dict[str, Any] = {}
    for key in SETTING_KEYS:
        *path, leaf = key.split(".")
        node = tree
        for table in path:
            node = node.setdefault(table, {})
        node[leaf] = None
    return tree
