"""The layering in STYLE.md, checked: light CLI start-up and imports that only point downward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"
HEAVY = ("torch", "sentence_transformers", "sklearn", "transformers", "matplotlib")

# Who may import whom inside the package (modules not listed may import only models/errors).
ALLOWED = {
    "cli": {"run", "config", "errors", "schedule", "models", "service", "tune"},
    # Tuning tools (eval, topics, explain): orchestration beside run, called only by cli.
    "tune": {"run", "assign", "labels", "digest", "config", "embed", "store"},
    "cluster": {"labels"},
    "schedule": {"run", "config", "errors", "models", "service", "crontab"},
    "service": {"run", "config", "store", "lock", "crontab", "catchup", "digest"},
    "run": {"*"},
    "config": {"models", "errors", "crontab"},
    # outputs writes under digests/ and sends mail for run: it sequences the output stages.
    "outputs": {"render", "html", "publish", "chart", "mail", "config"},
    # Ingest orchestration one tier below run (only run may import it): no assign/cluster/digest.
    "ingest": {"config", "fetch", "freshness", "normalize", "sources", "store"},
    "__main__": {"cli"},
}
BASE = {"models", "errors"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            parts = node.module.split(".")
            if len(parts) == 1:
                found.update(alias.name for alias in node.names)
            else:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pipeline."):
                    found.add(alias.name.split(".")[1])
    return found


def test_digest_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from pipeline.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_digest_help_lists_the_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("ingest", "build", "run", "send", "check-config", "serve", "status"):
        assert command in out.stdout


def test_imports_point_downward_only() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        module = rel.parts[0].removesuffix(".py")
        allowed = ALLOWED.get(module, BASE)
        if module == "sources":
            allowed = BASE | {"sources"}
        for target in _imports(path) - {module}:
            if "*" not in allowed and target not in allowed | BASE:
                problems.append(f"{rel} imports pipeline.{target}")
    assert problems == []


def test_heavy_libraries_are_imported_lazily() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in HEAVY:
                    problems.append(f"{path.name}: module-level import of {name}")
    assert problems == []


def test_only_run_imports_outputs() -> None:
    importers = [
        path.name
        for path in sorted(PACKAGE.rglob("*.py"))
        if "outputs" in _imports(path) and path.stem not in ("run", "outputs")
    ]
    assert importers == []
