"""This repository's own tasks: the collection it ships, run on the demo stack.

Its configuration is [tool.stacktasks] in pyproject.toml.
"""

from stacktasks import collection

ns = collection()
