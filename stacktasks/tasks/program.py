"""`stacktasks` (and `python -m stacktasks`): the collection as a command of its own, for projects
without a tasks.py and for onboarding scripts (`pipx run stacktasks onboard --yes`). Configuration
comes from [tool.stacktasks] in ./pyproject.toml, invoke.yaml and INVOKE_STACKTASKS_* as with `inv`.
Named after the distribution: `stack` is Haskell's build tool on many machines."""

from __future__ import annotations

from invoke.program import Program

from .. import __version__
from .namespace import collection


def main() -> None:
    program = Program(namespace=collection(), version=__version__, name="stacktasks", binary="stacktasks")
    program.run()


if __name__ == "__main__":
    main()
