"""Docker Compose: the one place that spells and runs compose argv.

- ``client.py``: ``Compose``, every compose argv and the calls that read the stack (ps, port, config);
- ``version.py``: which compose runs the stack (v2, or the legacy v1) and what its version allows;
- ``model.py``: the resolved compose model (services, ports, secrets, mounts), a plain value;
- ``files.py``: which compose files a project reads (with override and ``include:``) and what is
  wrong with them when compose cannot say;
- ``warnings.py``: what compose says without saying how to fix it (blank variables, rejected keys);
- ``health.py``: waiting where compose cannot (v1 has no ``up --wait``).
"""
