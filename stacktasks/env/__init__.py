"""Env files: the values the tasks read, and making them.

- ``files.py``: loading and merging env files, and the masker that hides their secrets;
- ``setup.py``: env.init, env.check and env.show (examples, generated secrets, comparisons);
- ``secrets.py``: a secret a service reads from a file (``*_FILE``, a compose secret).
"""
