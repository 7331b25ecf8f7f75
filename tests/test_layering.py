"""The package rules of docs/architecture.md hold in the code: a wrong import fails here.

pipelines/ holds pure stages and imports nothing of ours beyond itself; cameras/ (the camera
node) may use pipelines/ but nothing of the edge box; appliance/ may use both; ui/ talks to the
edge over HTTP only, so it imports nothing of ours but itself and the one config loader (YAML
with ${VAR} secrets and one-line errors). Lazy imports inside functions count too: they are
dependencies all the same.
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
    "ui": {"ui"},
}
ALLOWED_MODULES = {"ui": {"appliance.config_loader"}}
"""Single modules a package may import beyond its allowed packages."""


def imported_modules(path: Path) -> set[str]:
    """The modules of ours that `path` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m.split(".")[0] in OURS}


def forbidden(path: Path, package: str) -> list[str]:
    allowed = ALLOWED_MODULES.get(package, set())
    return sorted(
        m
        for m in imported_modules(path)
        if m.split(".")[0] not in ALLOWED[package] and m not in allowed
    )


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    wrong = {
        str(p.relative_to(ROOT)): forbidden(p, package) for p in files if forbidden(p, package)
    }
    assert not wrong, f"{package}/ may import only {sorted(ALLOWED[package])}: {wrong}"


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from appliance.edge.box import EdgeBox\n    import ui.app\n")
    assert imported_modules(module) == {"appliance.edge.box", "ui.app"}
    assert forbidden(module, "ui") == ["appliance.edge.box"]
