"""How the code is laid out (issue 9): rules a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "walkapp"


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imported_modules(source: str, module: str) -> set[str]:
    """Every module the `source` of `module` imports, as dotted names (relative ones resolved)."""
    package = module.rsplit(".", 1)[0].split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.add(target)
            # `from .. import x` may import a module x: count those names too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def test_controllers_import_no_controllers():
    """A controller uses services, schemas, policy, web and storage; what two controllers share
    lives in one of those, never in the other controller."""
    controllers = sorted(PACKAGE.rglob("controllers.py"))
    assert len(controllers) >= 8
    wrong = {}
    for path in controllers:
        own = _module_name(path)
        others = sorted(m for m in _imported_modules(path.read_text(encoding="utf-8"), own)
                        if m != own and (m.endswith(".controllers") or m == "controllers"))
        if others:
            wrong[own] = others
    assert not wrong, f"controllers importing controllers: {wrong}"


def test_the_layout_check_sees_a_controller_import():
    """The check above is not blind: the import this issue removed is caught, services are not."""
    source = "from ..observations.controllers import media_store\nfrom . import services\n"
    found = _imported_modules(source, "walkapp.field.controllers")
    assert "walkapp.observations.controllers" in found
    assert "walkapp.field.services" in found
    assert not any(m.endswith(".controllers") for m in _imported_modules("from . import services\n",
                                                                         "walkapp.field.controllers"))
