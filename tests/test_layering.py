"""The package rules of docs/architecture.md hold in the code: a wrong import fails here.

pipelines/ holds pure stages and imports nothing of ours beyond itself; cameras/ (the camera
node) may use pipelines/ but nothing of the edge box; appliance/ may use both. Lazy imports
inside functions count too: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"appliance", "cameras", "pipelines", "ui", "tests"}
ALLOWED = {
    "pipelines": {"pipelines"},
    "cameras": {"cameras", "pipelines"},
}


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages that `path` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in files
        if imported_packages(path) - ALLOWED[package]
    }
    assert not wrong, f"{package}/ may import only {sorted(ALLOWED[package])}: {wrong}"


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from appliance.edge import EdgeBox\n    import ui.app\n")
    assert imported_packages(module) == {"appliance", "ui"}
