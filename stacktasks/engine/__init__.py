"""The container engine and reaching what runs on it.

- ``context.py``: which engine (DOCKER_HOST, docker context, the ``docker_context`` setting), local or remote;
- ``docker.py``: every plain docker argv (compose's are compose/client.py's);
- ``machine.py``: the engine's own machine (its listening ports, its free disk), looked at through a container;
- ``projects.py``: every compose project on the engine, from its containers' labels (ls, who holds a port);
- ``ports.py``: host ports a stack would publish that are taken, and a hint that frees them;
- ``relay.py``: a service's port reached through the engine where none is published (a relay);
- ``ssh.py``: one ssh connection to an ssh engine for the whole task (the user's kept one, or the task's own).
"""
