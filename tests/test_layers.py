"""The package's layers as a test: the durable engine (`dynisolate.workflows`) builds on the
public package and never on the native module; the package never imports the engine, except
the command line, which sits above both. (The Rust core has its own: tests/rust/layers.rs.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "dynisolate"


def imported(path: Path) -> set[str]:
    """Absolute names of the dynisolate modules `path` imports (relative imports resolved)."""
    module = ".".join(("dynisolate", *path.relative_to(PACKAGE).with_suffix("").parts))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("dynisolate")}


def violations(path: Path) -> list[str]:
    relative = path.relative_to(PACKAGE).as_posix()
    names = imported(path)
    if relative.startswith("workflows/"):
        return [f"{relative} imports {name}" for name in sorted(names) if name.startswith("dynisolate._core")]
    if relative == "_cli.py":
        return []
    return [f"{relative} imports {name}" for name in sorted(names) if name.startswith("dynisolate.workflows")]


def test_each_layer_imports_only_layers_below_it() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 15
    problems = [problem for path in files for problem in violations(path)]
    assert problems == []


def test_the_check_sees_relative_and_absolute_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "dynisolate"
    (root / "workflows").mkdir(parents=True)
    bad = root / "workflows" / "_bad.py"
    bad.write_text("from .. import _core\nimport dynisolate._core\n")
    upward = root / "_loader.py"
    upward.write_text("from .workflows import Engine\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", root)
    assert violations(bad) == ["workflows/_bad.py imports dynisolate._core"]
    assert violations(upward) == [
        "_loader.py imports dynisolate.workflows",
        "_loader.py imports dynisolate.workflows.Engine",
    ]
