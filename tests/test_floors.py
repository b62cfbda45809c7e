"""Dependencies point one way (docs/apps.md): an app imports only apps below it, never one above
it, whether at the top of a module or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {
    "subscriptions": 1,
    "ssr_points": 2,
    "exchange": 3,
    "fulfilment": 4,
    "jobs": 5,
    "order_events": 5,
    "backoffice": 6,
}


def upward_imports() -> list[str]:
    found = []
    for app, floor in FLOORS.items():
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                for module in modules:
                    target = module.split(".")[0]
                    if target in FLOORS and target != app and FLOORS[target] >= floor:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    return found


def test_no_app_imports_an_app_on_its_floor_or_above():
    assert upward_imports() == []
