"""The console, the test LMS and the demo app in a real browser: Debian's Chromium driven by Playwright.

    from tests.browser.helpers import api, sign_in

    def test_something(gateway, page, shot):
        sign_in(page, gateway.api_key)           # the console's own sign-in form
        shot(page, "signed in")                 # .artifacts/screenshots/<test>/01-signed-in.png
        expect(page.get_by_role("heading", name="Classes")).to_be_visible()

The browser is never one Playwright downloads: ``CHROMIUM`` (default /usr/bin/chromium, else
``chromium`` on PATH; ``make browser`` installs Debian's package). Without it the tests skip, except
under ``CI=true`` where they fail. One local gateway and one Chromium serve the package (this directory
is a package: they stop, and the environment the gateway set is restored, before other directories'
tests run in the same worker); each test gets a fresh browser context (no cookies, no storage).

Under pytest-xdist (``make test`` runs ``-n 2``) one browser test runs at a time across the workers: each
holds a lock (a file in the base temp directory the workers share) while it runs, so two Chromiums never
compete for two cores. The tests are also in the xdist_group "browser", which ``--dist loadgroup`` would
send to one worker; that does not work with pytest 9.2 (pytest-xdist 3.8 rewrites ``item._nodeid``, which
pytest 9.2 no longer reads), hence the lock.

A test fails on any console error, uncaught page error or Content-Security-Policy violation of its pages
(HTTP 4xx answers the page handles itself are reported by Chromium as "Failed to load resource": those
are allowed, the test asserts what the user sees). Each step's full-page screenshot goes to
``$BROWSER_ARTIFACTS`` (default ``.artifacts/screenshots/`` in the repository), one directory per test,
plus ``99-failed-page-<n>.png`` of each of its pages when the test failed.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / ".artifacts" / "screenshots")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# The gateway's own endpoints, never ones left in the developer's shell (tests stay hermetic).
# Chromium's own line for an HTTP error answer of a fetch: the page handles a 4xx (shows the refusal).
_HANDLED_HTTP_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d\b")
# Reported by every page from the start: CSP violations as console errors with a recognisable prefix.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def chromium_path() -> str | None:
    """``$CHROMIUM`` if set (exactly that), else /usr/bin/chromium, else ``chromium`` on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _unavailable(reason: str) -> None:
    """Skip locally; under CI=true a missing browser is a failure (CI must run these tests)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run; `make test` installs Debian's chromium)")
    pytest.skip(reason)


# ------------------------------------------------------------------------------------------ xdist


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            if config.pluginmanager.hasplugin("xdist"):
                item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test whose pages reported a console error, a page error or a CSP violation fails."""
    result = yield
    problems = getattr(item, "funcargs", {}).get("problems")
    if problems is not None and problems.errors:
        pytest.fail("the page reported errors:\n  " + "\n  ".join(problems.errors), pytrace=False)
    return result


@pytest.fixture(autouse=True)
def one_browser_test_at_a_time(tmp_path_factory) -> Iterator[None]:
    """Under xdist: an exclusive lock shared by the workers of this run, held for the test."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    lock_path = tmp_path_factory.getbasetemp().parent / "browser-tests.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------- gateway


@pytest.fixture(scope="package")
def gateway():
    from tests.support.local_gateway import local_gateway

    with local_gateway() as gw:
        yield gw


# ------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="package")
def browser():
    executable = chromium_path()
    if executable is None:
        where = os.environ.get("CHROMIUM") or "/usr/bin/chromium (nor `chromium` on PATH)"
        _unavailable(f"no Chromium at {where}: install Debian's chromium package (make browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageProblems:
    """Everything a page reported that a person would call broken."""

    errors: list[str] = field(default_factory=list)  # console errors, page errors, CSP violations
    handled: list[str] = field(default_factory=list)  # 4xx answers the page handled (allowed)
    dialogs: list[str] = field(default_factory=list)  # "alert: 1", "confirm: Revoke this key?"

    def watch(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = f"{message.text} ({message.location.get('url', '')})"
        (self.handled if _HANDLED_HTTP_ERROR.match(message.text) else self.errors).append(text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm":  # the console asking "are you sure?": the user says yes
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def context(browser, gateway, problems):
    """A fresh browser context (no cookies, no storage), its clipboard granted for the gateway's origin."""
    ctx = browser.new_context(base_url=gateway.base_url, viewport={"width": 1280, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.base_url)
    ctx.add_init_script(_CSP_LISTENER)
    ctx.set_default_timeout(10_000)
    ctx.on("page", problems.watch)
    try:
        yield ctx
    finally:
        ctx.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:80]


@pytest.fixture
def shot(request) -> Callable[..., Path]:
    """``shot(page, "key created")`` saves a full-page screenshot, numbered in the order of the steps."""
    node = request.node
    params = getattr(getattr(node, "callspec", None), "id", "")
    directory = ARTIFACTS / "-".join(filter(None, (_slug(f"{node.path.stem}-{node.originalname}"), _slug(params))))
    shutil.rmtree(directory, ignore_errors=True)
    count = iter(range(1, 1000))

    def take(page: Any, step: str) -> Path:
        path = directory / f"{next(count):02d}-{_slug(step)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    take.directory = directory  # type: ignore[attr-defined]
    return take


@pytest.fixture
def page(context, problems, shot, request):
    """A page of the test's context; after a failed test, a screenshot of each of its pages."""
    tab = context.new_page()
    yield tab
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        shot.directory.mkdir(parents=True, exist_ok=True)
        for index, open_page in enumerate(context.pages, start=1):
            if not open_page.is_closed():
                try:
                    open_page.screenshot(path=str(shot.directory / f"99-failed-page-{index}.png"), full_page=True)
                except Exception as error:  # the failure report matters more than its screenshot
                    print(f"no failure screenshot of {open_page.url}: {error}")
    if problems.handled:
        print("HTTP 4xx answers the page handled:\n  " + "\n  ".join(problems.handled))
