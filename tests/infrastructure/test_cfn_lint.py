"""cfn-lint has nothing to say about template.yaml (errors and warnings, as `cfn-lint template.yaml`)."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import lint, lint_file


def _findings(matches: list) -> list[str]:
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches]


def test_template_has_no_cfn_lint_findings(repo_root: Path) -> None:
    assert _findings(lint_file(repo_root / "template.yaml")) == []


def test_cfn_lint_reports_a_broken_template(template_text: str) -> None:
    # The same call on a template with a retired runtime must find it, or the test above proves nothing.
    broken = template_text.replace("Runtime: python3.13", "Runtime: python2.7", 1)
    assert broken != template_text
    assert any(f.startswith("E2533") for f in _findings(lint(broken)))
