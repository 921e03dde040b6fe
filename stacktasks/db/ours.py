"""What only stacktasks can have made: records sealed with the project's own key.

A comment on a database, a manifest beside a file: anyone who can write one can write one that
looks like ours (a restored dump's ``COMMENT ON DATABASE``, a ``.json`` put in ``backups/``). So
nothing is pruned or listed as ours on the strength of its text: each record carries a seal, an
HMAC under a key kept in the project's private backup folder (0600, made once, never printed),
over what the record is about, including what cannot be copied (a database's oid). A record
copied to another database, or a manifest beside another file, does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from ..errors import StackError

KEY_FILE = ".stacktasks-key"


def project_key(directory: Path, *, create: bool) -> bytes | None:
    """The key in ``directory`` (the private backup folder), made there when ``create``; None when
    there is none yet (then nothing there verifies as ours)."""
    path = directory / KEY_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not create:
            return None
        return _make_key(path)
    except OSError as error:
        raise StackError(f"{path}: cannot be read ({error.strerror}); it must be a plain file of yours") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise StackError(f"{path} must be a plain file of yours that only you can read (chmod 600)")
        key = os.read(fd, 256).strip()
    finally:
        os.close(fd)
    if len(key) < 32:
        raise StackError(f"{path} holds no key stacktasks made", hint="remove it: the next backup makes a new one")
    return key


def _make_key(path: Path) -> bytes:
    from .dumpfiles import ensure_private_directory

    ensure_private_directory(path.parent)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # another run made it first: use that one
        found = project_key(path.parent, create=False)
        assert found is not None
        return found
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def seal(key: bytes, *parts: object) -> str:
    """The seal over ``parts`` (each part's text, kept apart so that no two lists share one)."""
    message = b"\0".join(str(part).encode() for part in parts)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verifies(key: bytes | None, found: object, *parts: object) -> bool:
    return key is not None and isinstance(found, str) and hmac.compare_digest(found, seal(key, *parts))
