"""`stack`: the collection as a command of its own, for projects without a tasks.py and for
onboarding scripts (`pipx run stacktasks stack onboard --yes`). Configuration comes from
[tool.stacktasks] in ./pyproject.toml, invoke.yaml and INVOKE_STACKTASKS_* as with `inv`."""

from __future__ import annotations

from invoke.program import Program

from .. import __version__
from .namespace import collection


def main() -> None:
    program = Program(namespace=collection(), version=__version__, name="stacktasks", binary="stack")
    program.run()


if __name__ == "__main__":
    main()
