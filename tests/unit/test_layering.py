"""The package's shape, as rules a change cannot quietly break."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stacktasks"
TASK_LAYER = PACKAGE / "tasks"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def core_modules() -> list[Path]:
    return [path for path in PACKAGE.rglob("*.py") if TASK_LAYER not in path.parents]


def imported_modules(path: Path, *, typing_too: bool = False) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved), at its top
    and inside functions; those under ``if TYPE_CHECKING:`` too with ``typing_too``."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    tree = ast.parse(path.read_text())
    typing_only = {  # `if TYPE_CHECKING:` blocks never run
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only and not typing_too:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
    return names


def test_no_core_module_imports_invoke() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in core_modules()
        if any(name == "invoke" or name.startswith("invoke.") for name in imported_modules(p))
    ]
    assert offenders == []


def test_no_core_module_imports_the_task_layer() -> None:
    # collection() hands over to stacktasks.tasks, at call time; `python -m stacktasks` is the program.
    allowed = {PACKAGE / "__init__.py", PACKAGE / "__main__.py"}
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in core_modules()
        if p not in allowed
        and any(name == "stacktasks.tasks" or name.startswith("stacktasks.tasks.") for name in imported_modules(p))
    ]
    assert offenders == []


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_cycles() -> list[list[str]]:
    """Every set of modules that import each other in a loop (Tarjan's strongly connected
    components), counting imports inside functions and those only type checkers read."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges = {
        name: sorted(other for other in imported_modules(path, typing_too=True) if other in modules and other != name)
        for name, path in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in edges[name]:
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return cycles


def test_the_import_graph_has_no_cycle_lazy_and_typing_imports_included() -> None:
    assert import_cycles() == []


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    long = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.name}"] = length
    assert long == {}


#: A compose subcommand with its usual first flag, not preceded by "docker" (docker run is not compose).
COMPOSE_VERBS = re.compile(
    r'(?<!"docker", )"(exec|run|port|ps|up|down|logs|build|config)",\s*"(-T|--rm|-q|-d|--services)"'
)


def test_compose_argv_is_built_only_in_the_compose_client() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE) in (Path("compose", "client.py"), Path("engine", "docker.py")):
            continue  # compose's argv, and docker's own (docker run --rm is not compose)
        text = path.read_text()
        if COMPOSE_VERBS.search(text) or '"exec", "-T"' in text or "compose_base" in text:
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


#: What starts a process, spelled as the standard library spells it.
PROCESS_STARTERS = {
    ("subprocess", name)
    for name in ("run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput")
} | {
    ("os", name)
    for name in ("system", "popen", "execv", "execvp", "execve", "spawnv", "spawnvp", "posix_spawn", "fork")
}


def test_only_the_runner_starts_a_process() -> None:
    """By the AST: a call of ``subprocess.run``, ``os.system`` and the like anywhere but runner.py."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "runner.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) in PROCESS_STARTERS
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


COMPOSE_SUBCOMMANDS = {
    "up", "down", "ps", "logs", "exec", "run", "build", "pull", "push", "restart", "start", "stop", "rm", "kill",
    "config", "port", "watch", "create", "images", "top", "events", "cp", "pause", "unpause", "version", "ls",
}  # fmt: skip


def test_no_compose_verb_is_spelled_outside_the_compose_client() -> None:
    """By the AST: a call whose first argument is a compose subcommand as a string
    (``compose.run("build")``, ``compose.argv("pull", …)``) anywhere but compose/client.py: the
    verbs the tasks run are its typed methods."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "compose" / "client.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("run", "argv", "capture")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in COMPOSE_SUBCOMMANDS
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_plain_docker_argv_is_spelled_only_in_engine_docker_py() -> None:
    """By the AST: a list or tuple whose first item is the string "docker" or "docker-compose"
    (an argv) outside engine/docker.py and compose/version.py (which finds the compose command)."""
    owners = {PACKAGE / "engine" / "docker.py", PACKAGE / "compose" / "version.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in owners:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.List | ast.Tuple) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and first.value in ("docker", "docker-compose"):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize("package", ["db", "compose", "engine", "redis", "env"])
def test_each_packages_map_names_every_module_in_it_and_nothing_else(package: str) -> None:
    """A newcomer reads the package's docstring to find what answers a question: the map must
    be the tree, whatever is added, moved or removed."""
    folder = PACKAGE / package
    modules = {path.name for path in folder.glob("*.py") if path.name != "__init__.py"}
    named = set(re.findall(r"``(\w+\.py)``", ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""))
    assert named == modules


def test_the_readme_layout_names_every_package_and_top_level_module() -> None:
    layout = (PACKAGE.parent / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    parts |= {p.name for p in PACKAGE.glob("*.py") if p.name not in ("__main__.py",)}
    missing = sorted(part for part in parts if part + ("/" if not part.endswith(".py") else "") not in layout)
    assert missing == []
