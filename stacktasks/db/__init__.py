"""PostgreSQL: one module per question a newcomer asks.

- ``target.py``: where the database is (a compose service or a URL) and how to reach it;
- ``admin.py``: the admin SQL (row counts, sessions, renames) through psycopg;
- ``tools.py``: where pg_dump, pg_restore and psql run, and their argv;
- ``dumpfiles.py``: dump files and manifests on disk (atomic writes, formats, listing, retention);
- ``backup.py``: db.backup;
- ``restore.py``: db.restore (scratch database, verified, swapped in);
- ``restore_in_place.py``: db.restore for a role that may not create databases;
- ``undo.py``: db.undo.
"""
