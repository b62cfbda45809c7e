"""No private name of Django or another library in the project's code (tests and migrations apart):
an attribute or module whose name starts with ``_`` and that the project does not define itself,
``Model._meta`` beyond its documented API, a queryset's ``.query`` internals. What stays is in
``ALLOWED`` with its reason (docs/performance.md lists the departures from plain Django)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"tests", "migrations", ".venv", "node_modules", "staticfiles", "media"}

# ``Options`` as Django documents it (docs/ref/models/meta.txt and the Meta options).
META_DOCUMENTED = {
    "get_field",
    "get_fields",
    "model_name",
    "app_label",
    "db_table",
    "verbose_name",
    "verbose_name_plural",
    "object_name",
    "label",
    "label_lower",
    "ordering",
}
# Private-looking names that Django documents as public API.
DOCUMENTED = {
    "_meta",  # checked on its own: only the names above
    "_default_manager",  # docs/topics/db/managers.txt, "Default managers"
    "_base_manager",
}

# (file, name): why it stays.
ALLOWED: dict[tuple[str, str], str] = {
    ("backoffice/admin/base.py", "query.where"): (
        "the admin's estimated count: PostgreSQL's row estimate only for an unfiltered changelist, "
        "and no public API says whether a queryset is filtered"
    ),
}


def project_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(ROOT).parts[:-1]) and not path.name.startswith("test_")
    ]


def own_private_names(trees: dict[Path, ast.AST]) -> set[str]:
    """The private names the project defines: modules, functions, classes, attributes it assigns, arguments."""
    names = {path.stem for path in trees}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
    return {name for name in names if name.startswith("_")}


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations() -> list[tuple[str, int, str]]:
    trees = {path: ast.parse(path.read_text(), filename=str(path)) for path in project_files()}
    own = own_private_names(trees)
    found = []
    for path, tree in trees.items():
        relative = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Attribute):
                if private(node.attr) and node.attr not in own and node.attr not in DOCUMENTED:
                    names.append(node.attr)
                on_meta = isinstance(node.value, ast.Attribute) and node.value.attr == "_meta"
                if on_meta and node.attr not in META_DOCUMENTED:
                    names.append(f"_meta.{node.attr}")
                if isinstance(node.value, ast.Attribute) and node.value.attr == "query" and node.attr != "query":
                    names.append(f"query.{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names += [part for part in node.module.split(".") if private(part) and part not in own]
                names += [alias.name for alias in node.names if private(alias.name) and alias.name not in own]
            elif isinstance(node, ast.Import):
                names += [
                    part for alias in node.names for part in alias.name.split(".") if private(part) and part not in own
                ]
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "setattr", "hasattr"}
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
                and private(node.args[1].value)
                and node.args[1].value not in own
            ):
                names.append(node.args[1].value)
            found += [(relative, node.lineno, name) for name in names if (relative, name) not in ALLOWED]
    return sorted(set(found))


def test_no_private_name_of_django_or_a_library_outside_the_allow_list():
    assert violations() == []


def test_the_allow_list_has_no_stale_entry():
    used = set()
    trees = {path: path.read_text() for path in project_files()}
    for (file, name), reason in ALLOWED.items():
        assert reason, f"{file}: {name} needs its reason"
        text = trees.get(ROOT / file, "")
        if name.split(".")[-1] in text:
            used.add((file, name))
    assert used == set(ALLOWED)


def test_the_check_finds_what_it_is_for(tmp_path, monkeypatch):
    """A file reaching into Django's internals is reported (the check is not silently blind)."""
    sample = ROOT / "bench" / "_private_api_sample.py"
    sample.write_text(
        "from django.db.models.sql.compiler import _thing\n"
        "def f(obj, qs):\n"
        "    return obj._state.adding, obj._meta.concrete_fields, qs.query.where, obj._meta.get_field('x')\n"
    )
    try:
        names = {name for file, _line, name in violations() if file.endswith("_private_api_sample.py")}
    finally:
        sample.unlink()
    assert names == {"_thing", "_state", "_meta.concrete_fields", "query.where"}
