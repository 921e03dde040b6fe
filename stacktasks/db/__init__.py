"""PostgreSQL: one module per question a newcomer asks.

Where the database is and how it is reached:
- ``target.py``: a compose service or a URL, by the one rule of placement.py;
- ``session.py``: the guarded admin session every flow that changes a database enters (connect,
  prove the server, lock, recover);
- ``admin.py``: the admin SQL (row counts, sessions, renames) through psycopg;
- ``tools.py``: where pg_dump, pg_restore and psql run, and their argv.

The flows: ``backup.py`` (db.backup), ``restore.py`` (db.restore by swap), ``restore_in_place.py``
(for a role that may not create databases), ``undo.py`` (db.undo), ``snapshot.py`` (db.snapshot,
db.rollback), ``backups.py`` (db.backups --json, --prune), ``pull.py`` (db.pull: a stage's
database streamed home, sanitised), ``sanitized_dump.py`` (db.backup --sanitize: a dump to share).

Their parts:
- ``swap.py``: the swap's states, and the recovery of each; ``replace.py``: a database made aside,
  then swapped in (restore and rollback alike), or a snapshot's ready spare renamed into place;
  ``spare.py``: the ready spares beside snapshots;
- ``plan.py``: what a restore works from and gives back; ``load.py``, ``feed.py``: the dump into
  the tools; ``loadrole.py``, ``extensions.py``: the least privilege a dump is applied with;
- ``dumpread.py``: a dump read once and checked; ``plaindump.py``: the plain-SQL line checker;
  ``inputs.py``: stdin and compressed inputs;
- ``manifest.py``: the typed, versioned manifest; ``dumpfiles.py``: files on disk (atomic writes,
  names, progress); ``backupfiles.py``: the backup folder (listing, retention); ``ours.py``: the
  project key that proves what stacktasks made; ``exclusions.py``: --exclude-table[-data];
  ``sanitize.py``: the project's sanitising rules, run in a restored copy before the swap.
"""
