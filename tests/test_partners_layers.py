"""The partner pipeline is one-way: every module of ``ingestion/partners`` (and the KoBo modules that take
part, ``ingestion/kobo/inbox*.py``) imports only modules of lower layers (``ingestion.partners.LAYERS``),
and no module is over 400 lines. Read from the source (ast), so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ingestion.partners import LAYERS
from tests.conftest import REPO

PACKAGE = "ingestion.partners"
MAX_LINES = 400


def full_name(layer_name: str) -> str:
    """A LAYERS entry as a dotted module name."""
    if layer_name.startswith("ingestion."):
        return layer_name
    return f"{PACKAGE}.{layer_name}" if layer_name else PACKAGE


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def pipeline_files() -> dict[str, Path]:
    files = sorted((REPO / "ingestion" / "partners").rglob("*.py")) + sorted((REPO / "ingestion" / "kobo").glob("inbox*.py"))
    return {module_name(path): path for path in files}


def imported_modules(importer: str, source: str, known: set[str]) -> set[str]:
    """The known modules ``source`` imports (``from a import b`` is module ``a.b`` when that is one)."""
    found: set[str] = set()
    is_package = importer in known and any(other.startswith(importer + ".") for other in known)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                package = importer.split(".") if is_package else importer.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def layering_violations(sources: dict[str, str], layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Every import of a module of the same or a higher layer, and every module the layers do not list."""
    rank = {full_name(name): index for index, layer in enumerate(layers) for name in layer}
    problems = [f"{name}: not in LAYERS" for name in sorted(set(sources) - set(rank))]
    problems += [f"{name}: in LAYERS but no such module" for name in sorted(set(rank) - set(sources))]
    for importer, source in sorted(sources.items()):
        if importer not in rank:
            continue
        for target in sorted(imported_modules(importer, source, set(rank))):
            if target != importer and rank[target] >= rank[importer]:
                problems.append(f"{importer} (layer {rank[importer]}) imports {target} (layer {rank[target]})")
    return problems


def test_every_partner_module_imports_only_lower_layers():
    sources = {name: path.read_text(encoding="utf-8") for name, path in pipeline_files().items()}
    assert layering_violations(sources, LAYERS) == []


def test_no_partner_module_is_over_400_lines():
    long = {name: lines for name, path in pipeline_files().items()
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_only_the_inbox_modules_of_ingestion_kobo_know_about_partners():
    """ingestion.partners.contract imports ingestion.kobo: anything of ingestion.kobo importing partners back
    (besides the inbox modules, which sit above the partner layers they use) would close a cycle."""
    for path in sorted((REPO / "ingestion" / "kobo").glob("*.py")):
        if path.name.startswith("inbox"):
            continue
        imports = imported_modules(module_name(path), path.read_text(encoding="utf-8"), set(pipeline_files()))
        assert imports == set(), f"{path.name} imports {sorted(imports)}"


LAYERS_ABC = (("a",), ("b", "c"), ("d",))


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"a": "", "b": "import ingestion.partners.a", "c": "from ingestion.partners import a",
          "d": "from ingestion.partners.b import x\nfrom ingestion.partners.c import y"}, []),
        # upward, sideways (same layer), inside a function, relative
        ({"a": "from ingestion.partners.d import x", "b": "", "c": "", "d": ""},
         ["ingestion.partners.a (layer 0) imports ingestion.partners.d (layer 2)"]),
        ({"a": "", "b": "from ingestion.partners import c", "c": "", "d": ""},
         ["ingestion.partners.b (layer 1) imports ingestion.partners.c (layer 1)"]),
        ({"a": "def f():\n    import ingestion.partners.b\n", "b": "", "c": "", "d": ""},
         ["ingestion.partners.a (layer 0) imports ingestion.partners.b (layer 1)"]),
        ({"a": "from .c import x", "b": "", "c": "", "d": ""},
         ["ingestion.partners.a (layer 0) imports ingestion.partners.c (layer 1)"]),
        # a module the layers do not list, a listed module that is gone
        ({"a": "", "b": "", "c": "", "d": "", "e": ""}, ["ingestion.partners.e: not in LAYERS"]),
        ({"a": "", "b": "", "c": ""}, ["ingestion.partners.d: in LAYERS but no such module"]),
    ],
)
def test_the_layering_check_finds_what_it_should(sources, expected):
    named = {full_name(name): source for name, source in sources.items()}
    assert layering_violations(named, LAYERS_ABC) == expected
