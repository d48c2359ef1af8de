"""The layering in STYLE.md, checked: light CLI start-up and imports that only point downward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"
HEAVY = ("torch", "sentence_transformers", "sklearn", "transformers", "matplotlib")

# The package rules (STYLE.md): stage packages never import each other; store and embed import
# only models and errors; only the orchestration tier (run, tune) and service import the stages.
BASE = frozenset({"models", "errors"})
STAGES = frozenset({"ingest", "store", "embed", "topics", "digest"})
ALLOWED = {
    **{stage: BASE | {"config", stage} for stage in STAGES},
    "store": BASE | {"store"},
    "embed": BASE | {"embed"},
    # config validates cron lines with the scheduler's own parser, so a bad line fails check-config.
    "config": BASE | {"service"},
    "run": BASE | STAGES | {"config", "run"},
    "tune": BASE | STAGES | {"config", "run"},
    "service": BASE | STAGES | {"config", "run", "service"},
    "cli": BASE | {"config", "run", "tune", "service"},
    "__main__": {"cli"},
}


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


def package_rule_violations(package: Path) -> list[str]:
    """Every import in `package` that breaks ALLOWED, as 'file imports pipeline.x'."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        unit = rel.parts[0].removesuffix(".py")
        allowed = ALLOWED.get(unit, BASE)
        for target in sorted(_imports(path) - {unit}):
            if target not in allowed:
                problems.append(f"{rel} imports pipeline.{target}")
    return problems


def test_imports_follow_the_package_rules() -> None:
    assert package_rule_violations(PACKAGE) == []


def test_package_rules_catch_a_stage_importing_another(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "assign.py").write_text("from pipeline.store import Store\n")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "db.py").write_text("from pipeline.config import Settings\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "build.py").write_text("from pipeline.topics import assign\n")
    assert package_rule_violations(tmp_path) == [
        "store/db.py imports pipeline.config",
        "topics/assign.py imports pipeline.store",
    ]


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
