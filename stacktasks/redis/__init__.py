"""Redis (and Valkey): one module per question.

- ``target.py``: where Redis is (the env files' URL or the stack's service) and a checked client;
- ``password.py``: where its password is kept, read where it is;
- ``scan.py``: SCAN + UNLINK by pattern, from this host or inside the service;
- ``flush.py``: redis.flush and redis.flush-ratelimits.
"""
