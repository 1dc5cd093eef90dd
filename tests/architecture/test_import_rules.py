"""One home for each LTI concept (issue 12): the package's layers, checked on its source.

``lti_gateway`` is a stack of subpackages; each may import only those below it (``ALLOWED``), there is
no import cycle anywhere (imports inside functions and under ``TYPE_CHECKING`` included), LTI 1.1 and
LTI 1.3 never import each other, subpackage ``__init__.py`` files stay empty, few modules live at the
top, handlers do not reach storage, and tests/unit mirrors the package. The checker's own tests, at
the bottom, run it on tiny fake packages so that a broken checker cannot pass silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture import import_graph
from tests.architecture.import_graph import TOP, Package

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "layers" / "common" / "lti_gateway"

_DOMAIN = ("core", "repositories", "admin", "lti11", "lti13", "app_api", "launch")
# Who may import whom (besides itself). Everything not listed is refused.
ALLOWED: dict[str, tuple[str, ...]] = {
    "core": (),
    "repositories": ("core",),
    "admin": ("core", "repositories"),
    "lti11": ("core", "repositories", "admin"),
    "lti13": ("core", "repositories", "admin"),
    "app_api": ("core", "repositories", "admin", "lti11", "lti13"),
    "launch": ("core", "repositories", "admin", "lti11", "lti13", "app_api"),
    TOP: _DOMAIN,  # web (the edge), cli, openapi: any subpackage but local
    "local": (*_DOMAIN, TOP),  # the local gateway (not shipped) may use anything
}


@pytest.fixture(scope="module")
def package() -> Package:
    return Package(PACKAGE_DIR)


def _report(findings: list[str]) -> str:
    return "\n" + "\n".join(findings)


def test_there_is_no_import_cycle(package):
    found = import_graph.cycles(package)
    assert found == [], _report(found)


def test_each_subpackage_imports_only_the_ones_below_it(package):
    found = import_graph.forbidden(package, ALLOWED)
    assert found == [], _report(found)


def test_lti11_and_lti13_never_import_each_other(package):
    """Two versions of the protocol, side by side: what both need lives below them (core, admin...)."""
    found = import_graph.between(package, "lti11", "lti13")
    assert found == [], _report(found)


def test_nothing_imports_the_local_gateway(package):
    """local/ is a development tool, not shipped in the layer: only it may import itself."""
    found = import_graph.imports_into(package, "local")
    assert found == [], _report(found)


def test_few_modules_live_at_the_top_of_the_package(package):
    # One more than the checker's default: the CLI is two modules, cli.py (its parser, targets and exit
    # codes) and cli_commands.py (what each command does), issue 17.
    found = import_graph.too_many_top_modules(package, limit=import_graph.MAX_TOP_MODULES + 1)
    assert found == [], _report(found)


def test_subpackage_inits_are_empty(package):
    found = import_graph.non_empty_inits(package)
    assert found == [], _report(found)


def test_the_rules_know_every_subpackage(package):
    assert set(package.subpackages) == set(ALLOWED) - {TOP}


HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))


def test_there_are_handlers_to_check():
    assert len(HANDLERS) >= 6


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda path: path.parent.name)
def test_handlers_do_not_reach_storage(handler, package):
    """A handler routes and calls one domain function; repositories are the domain's business."""
    found = import_graph.handler_imports(handler, package, "repositories")
    assert found == [], _report(found)


@pytest.mark.parametrize("kind", ["unit", "functional"])
def test_the_test_layout_mirrors_the_package(kind, package):
    """tests/unit/<subpackage>/ (and tests/functional/<subpackage>/ where a file belongs to one; a
    top-level module's folder too, e.g. tests/functional/cli/ for cli.py)."""
    folder = ROOT / "tests" / kind
    mirrored = {*package.subpackages, *(name.removesuffix(".py") for name in package.top_modules)}
    strays = [
        f"tests/{kind}/{p.name}/ is not a subpackage of lti_gateway ({', '.join(package.subpackages)})"
        for p in sorted(folder.iterdir())
        if p.is_dir() and p.name != "__pycache__" and p.name not in mirrored
    ]
    missing = [
        f"tests/{kind}/{p.name}/ has no __init__.py (the suite uses package-style test ids)"
        for p in sorted(folder.iterdir())
        if p.is_dir() and p.name in mirrored and not (p / "__init__.py").exists()
    ]
    assert strays + missing == [], _report(strays + missing)


def test_unit_tests_live_in_the_folder_of_their_subpackage():
    flat = sorted(p.name for p in (ROOT / "tests" / "unit").glob("test_*.py"))
    assert flat == [], f"move these into tests/unit/<subpackage>/: {', '.join(flat)}"


# -- the checker's own tests: each check fails on a package that breaks its rule ----------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def clean() -> dict[str, str]:
    """A tiny package that keeps every rule: core <- repositories <- lti11 / lti13 <- web."""
    return {
        "pkg/__init__.py": "",
        "pkg/web.py": "from pkg.lti11 import launch\nfrom pkg.lti13 import oidc\n",
        "pkg/core/__init__.py": "",
        "pkg/core/errors.py": "class Oops(Exception):\n    pass\n",
        "pkg/core/config.py": "from pkg.core.errors import Oops\n",
        "pkg/repositories/__init__.py": "",
        "pkg/repositories/deps.py": "from ..core import config\n",
        "pkg/lti11/__init__.py": "",
        "pkg/lti11/launch.py": "from pkg.repositories import deps\n",
        "pkg/lti13/__init__.py": "",
        "pkg/lti13/oidc.py": "from . import ids\n",
        "pkg/lti13/ids.py": "import pkg.core.errors\n",
    }


RULES = {
    "core": (),
    "repositories": ("core",),
    "lti11": ("core", "repositories"),
    "lti13": ("core", "repositories"),
    TOP: ("lti11", "lti13"),
}


def test_the_checker_passes_a_clean_package(tmp_path, clean):
    package = Package(_write(tmp_path, clean) / "pkg")

    assert {(i.importer, i.target) for i in package.imports} == {
        ("pkg.web", "pkg.lti11.launch"),
        ("pkg.web", "pkg.lti13.oidc"),
        ("pkg.core.config", "pkg.core.errors"),
        ("pkg.repositories.deps", "pkg.core.config"),  # relative, resolved
        ("pkg.lti11.launch", "pkg.repositories.deps"),
        ("pkg.lti13.oidc", "pkg.lti13.ids"),  # from . import ids
        ("pkg.lti13.ids", "pkg.core.errors"),
    }
    assert import_graph.cycles(package) == []
    assert import_graph.forbidden(package, RULES) == []
    assert import_graph.between(package, "lti11", "lti13") == []
    assert import_graph.non_empty_inits(package) == []
    assert import_graph.too_many_top_modules(package) == []


def test_the_checker_finds_a_cycle_through_an_import_inside_a_function(tmp_path, clean):
    clean["pkg/core/errors.py"] = "def late():\n    from pkg.core import config\n"
    package = Package(_write(tmp_path, clean) / "pkg")

    [found] = import_graph.cycles(package)
    assert "import cycle: pkg.core.config -> pkg.core.errors -> pkg.core.config" in found
    assert "core/errors.py:2: `from pkg.core import config`" in found


def test_the_checker_finds_a_long_cycle_and_names_every_edge(tmp_path, clean):
    clean["pkg/core/errors.py"] = "from pkg.repositories.deps import x\n"
    package = Package(_write(tmp_path, clean) / "pkg")

    [found] = import_graph.cycles(package)
    assert "pkg.core.config -> pkg.core.errors -> pkg.repositories.deps -> pkg.core.config" in found
    assert found.count("\n    pkg/") == 3


def test_the_checker_finds_a_forbidden_pair_under_type_checking_and_relative(tmp_path, clean):
    clean["pkg/core/config.py"] = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..lti11.launch import Launch\n"
    )
    package = Package(_write(tmp_path, clean) / "pkg")

    [found] = import_graph.forbidden(package, RULES)
    assert found.startswith("pkg/core/config.py:3: `from ..lti11.launch import Launch`")
    assert "core may not import lti11 (core may import: nothing else of the package)" in found


def test_the_checker_refuses_lti11_and_lti13_importing_each_other(tmp_path, clean):
    clean["pkg/lti13/ids.py"] = "import importlib\nmod = importlib.import_module('pkg.lti11.launch')\n"
    package = Package(_write(tmp_path, clean) / "pkg")

    [found] = import_graph.between(package, "lti11", "lti13")
    assert "lti13/ids.py:2:" in found and "lti13 imports lti11" in found
    assert len(import_graph.forbidden(package, RULES)) == 1


def test_the_checker_refuses_an_unknown_subpackage_and_imports_of_a_private_one(tmp_path, clean):
    clean["pkg/local/__init__.py"] = ""
    clean["pkg/local/server.py"] = "from pkg import web\n"
    clean["pkg/web.py"] += "from pkg.local.server import serve\n"
    package = Package(_write(tmp_path, clean) / "pkg")

    found = import_graph.forbidden(package, RULES)
    assert any("pkg/local/ is a subpackage the import rules do not know" in f for f in found)
    [into] = import_graph.imports_into(package, "local")
    assert into.startswith("pkg/web.py:3: `from pkg.local.server import serve`")


def test_the_checker_finds_a_non_empty_init(tmp_path, clean):
    clean["pkg/lti11/__init__.py"] = "from pkg.lti11.launch import verify\n"
    clean["pkg/lti13/__init__.py"] = '\n"""A docstring too."""\n'
    package = Package(_write(tmp_path, clean) / "pkg")

    assert import_graph.non_empty_inits(package) == [
        "pkg/lti11/__init__.py: `from pkg.lti11.launch import verify` -- a subpackage __init__.py stays empty",
        'pkg/lti13/__init__.py: `"""A docstring too."""` -- a subpackage __init__.py stays empty',
    ]


def test_the_checker_counts_the_top_level_modules(tmp_path, clean):
    clean.update({f"pkg/extra{i}.py": "" for i in range(4)})
    package = Package(_write(tmp_path, clean) / "pkg")

    [found] = import_graph.too_many_top_modules(package)
    assert "has 6 modules" in found and "extra3.py" in found


def test_the_checker_finds_a_handler_reaching_storage(tmp_path, clean):
    package = Package(_write(tmp_path, clean) / "pkg")
    handler = _write(tmp_path, {"functions/keys/app.py": "from pkg import repositories\nimport pkg.web\n"})
    handler = handler / "functions" / "keys" / "app.py"

    [found] = import_graph.handler_imports(handler, package, "repositories")
    assert found.startswith("functions/keys/app.py:1: `from pkg import repositories`")
