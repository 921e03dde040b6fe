"""`python -m stacktasks`: the same program as the `stacktasks` command."""

from .tasks.program import main

main()
