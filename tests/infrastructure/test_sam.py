"""SAM as SAM users expect: `make build` stops early with what to do and never loses a good build,
`make test` runs `sam validate --lint`, samconfig.toml holds nothing account-specific, the template is
publishable to the Serverless Application Repository (metadata, docs/deploy.md's nested-application
snippet), and README's "Deploying to AWS" block runs as written where it can without an AWS account.

The fake SAM CLIs below are shell scripts that record their calls: the failure paths need no real SAM
CLI and take milliseconds. The real build (about 15 s) needs the SAM CLI `make sam` installs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from lti_gateway.local import template as tpl
from lti_gateway.version import VERSION
from tests.support import layer_package

ROOT = Path(__file__).resolve().parents[2]
SAM_CLI = ROOT / ".venv" / "sam-cli" / "bin" / "sam"
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    environment.update(env or {})
    return subprocess.run(  # noqa: S603 - make with this repository's Makefile
        [MAKE, "--no-print-directory", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fake_sam(tmp_path: Path, *, build: str = "ok") -> tuple[Path, Path]:
    """A `sam` that logs its arguments; `build`: "ok" writes a template into --build-dir, "fail" exits 1."""
    log = tmp_path / "sam-calls.log"
    script = tmp_path / "fake-sam"
    on_build = (
        'mkdir -p "$3" && echo new > "$3/template.yaml"; exit 0'
        if build == "ok"
        else 'mkdir -p "$3" && echo partial > "$3/half-written"; echo "Build Failed" >&2; exit 1'
    )
    script.write_text(
        f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\nif [ "$1" = build ]; then {on_build}; fi\nexit 0\n'
    )
    script.chmod(0o755)
    return script, log


@pytest.fixture
def good_build(tmp_path: Path) -> Path:
    """A previous good build in a BUILD_DIR of its own (the repository's .aws-sam is never touched)."""
    build = tmp_path / "aws-sam" / "build"
    (build / "KeysFunction").mkdir(parents=True)
    (build / "template.yaml").write_text("previous good build\n")
    (build / "KeysFunction" / "app.py").write_text("# built\n")
    return build


def snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


# -- make build: prerequisites first, a good build never lost ------------------------------------------------


def test_make_build_without_the_sam_cli_says_make_sam_and_touches_nothing(tmp_path, good_build):
    before = snapshot(good_build)

    done = make("build", f"SAM={tmp_path}/no-such-sam", f"BUILD_DIR={good_build}")

    assert done.returncode != 0
    assert "make build: the SAM CLI" in done.stderr and "make sam" in done.stderr, done.stderr
    assert snapshot(good_build) == before
    assert not Path(f"{good_build}.next").exists()


def test_make_build_without_python313_says_how_to_get_it_and_never_calls_sam(tmp_path, good_build):
    sam, log = fake_sam(tmp_path)
    before = snapshot(good_build)

    done = make("build", f"SAM={sam}", "PY313=", f"BUILD_DIR={good_build}")

    assert done.returncode != 0
    assert "Python 3.13" in done.stderr and "pyenv install 3.13" in done.stderr, done.stderr
    assert not log.exists(), "sam was called although a prerequisite is missing"
    assert snapshot(good_build) == before


def test_make_build_with_an_unreachable_package_index_stops_before_building(tmp_path, good_build):
    sam, log = fake_sam(tmp_path)
    before = snapshot(good_build)

    done = make("build", f"SAM={sam}", f"BUILD_DIR={good_build}", env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple"})

    assert done.returncode != 0
    assert "package index http://127.0.0.1:9/simple does not answer" in done.stderr, done.stderr
    assert "CHECK_INDEX=0" in done.stderr
    assert not log.exists()
    assert snapshot(good_build) == before


def test_a_failed_sam_build_keeps_the_previous_build(tmp_path, good_build):
    sam, log = fake_sam(tmp_path, build="fail")
    before = snapshot(good_build)

    done = make("build", f"SAM={sam}", f"BUILD_DIR={good_build}", "CHECK_INDEX=0")

    assert done.returncode != 0
    assert f"sam build failed (see above); {good_build} is left as it was" in done.stderr, done.stderr
    assert snapshot(good_build) == before
    assert not Path(f"{good_build}.next").exists(), "the half-written build is left behind"
    calls = log.read_text().splitlines()
    assert calls[0] == "validate --lint" and calls[1] == f"build --build-dir {good_build}.next", calls


def test_a_successful_build_replaces_the_previous_one(tmp_path, good_build):
    sam, _log = fake_sam(tmp_path)

    done = make("build", f"SAM={sam}", f"BUILD_DIR={good_build}", "CHECK_INDEX=0")

    assert done.returncode == 0, done.stderr
    assert snapshot(good_build) == {"template.yaml": "new\n"}
    assert not Path(f"{good_build}.next").exists() and not Path(f"{good_build}.old").exists()
    assert f"built into {good_build}" in done.stdout


def test_the_default_build_dir_is_where_sam_deploy_and_sam_package_read():
    done = make("-n", "build", "SAM=sam", "CHECK_INDEX=0")

    assert done.returncode == 0, done.stderr
    assert 'build --build-dir ".aws-sam/build.next"' in done.stdout
    assert 'mv ".aws-sam/build.next" ".aws-sam/build"' in done.stdout


NO_SAM_CLI = "no SAM CLI in .venv/sam-cli: `make sam` installs it (make test runs it first)"


@pytest.fixture(scope="module")
def real_build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str], float]:
    """`make build` for real, once (about 15 s), over a previous build in a temporary BUILD_DIR."""
    if not SAM_CLI.exists():
        pytest.skip(NO_SAM_CLI)
    build = tmp_path_factory.mktemp("real") / "build"
    build.mkdir()
    (build / "template.yaml").write_text("previous good build\n")
    started = time.monotonic()
    done = make("build", f"BUILD_DIR={build}", timeout=300)
    return build, done, time.monotonic() - started


def test_a_real_make_build_validates_and_builds_the_layer_and_every_function(real_build):
    build, done, took = real_build

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "is a valid SAM Template" in done.stdout + done.stderr  # sam validate --lint ran first
    template = tpl.load_template(ROOT / "template.yaml")
    for logical_id in tpl.resources(template, "AWS::Serverless::Function"):
        assert (build / logical_id / "app.py").is_file(), logical_id
    layer = build / "CommonLayer" / "python"
    assert (layer / "lti_gateway" / "version.py").is_file()
    assert not (layer / "lti_gateway" / "local").exists()
    assert not (layer / "boto3").exists()
    # The package gate (tests/performance/test_package.py) on this build: CPython 3.13 bytecode for every
    # module, nothing the runtime provides, at most 10 MB zipped.
    package = layer_package.inspect(layer)
    assert package.problems == []
    assert package.zipped_bytes <= layer_package.MAX_ZIPPED_BYTES, package.zipped_bytes
    assert "previous good build" not in (build / "template.yaml").read_text()
    print(f"make build: {took:.0f} s")  # shown with -s; speed is not a test's business (make bench)


# -- make test runs sam validate --lint ------------------------------------------------------------------------


def test_make_test_installs_the_sam_cli_and_runs_sam_validate_lint_after_cfn_lint():
    done = make("-n", "test", "CHROMIUM=/bin/true")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    cfn = next(i for i, line in enumerate(lines) if "cfn-lint template.yaml" in line)
    sam = next(i for i, line in enumerate(lines) if re.search(r"SAM_CLI_TELEMETRY=0 .*sam validate --lint$", line))
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert cfn < sam < pytest_line
    assert "AWS_DEFAULT_REGION=" in lines[sam]
    install = next(i for i, line in enumerate(lines) if "installing the SAM CLI into .venv/sam-cli" in line)
    assert install < cfn


# -- samconfig.toml ---------------------------------------------------------------------------------------------

ACCOUNT_SPECIFIC = re.compile(
    r"\b\d{12}\b|arn:aws|s3_bucket|s3_prefix|image_repositor|profile|role_arn|signing_profiles|kms_key_id"
    r"|region|parameter_overrides|notification_arns"
)


def account_specific(text: str) -> list[str]:
    return ACCOUNT_SPECIFIC.findall("\n".join(line.split("#", 1)[0] for line in text.splitlines()))


def test_samconfig_holds_nothing_account_specific():
    text = (ROOT / "samconfig.toml").read_text()
    config = tomllib.loads(text)

    assert account_specific(text) == [], account_specific(text)
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["resolve_s3"] is True  # SAM's managed bucket, not a named one
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert config["default"]["validate"]["parameters"]["lint"] is True
    # The check is not vacuous: what `sam deploy --guided` writes for an account is caught.
    saved = 's3_bucket = "aws-sam-cli-managed-default-samclisourcebucket-1"\nregion = "eu-west-1"\n'
    assert account_specific(saved) and account_specific('role_arn = "arn:aws:iam::123456789012:role/x"')


# -- Serverless Application Repository ---------------------------------------------------------------------------


def test_the_template_is_publishable_to_the_serverless_application_repository():
    app = tpl.load_template(ROOT / "template.yaml")["Metadata"]["AWS::ServerlessRepo::Application"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert app["SemanticVersion"] == VERSION
    assert app["SpdxLicenseId"] == pyproject["project"]["license"] == "Apache-2.0"
    assert (ROOT / app["LicenseUrl"]).is_file() and (ROOT / app["ReadmeUrl"]).is_file()
    # SAR's own limits (CreateApplication): a publish fails on any of these.
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", app["Name"])
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", app["Author"]) and len(app["Author"]) <= 127
    assert 1 <= len(app["Description"]) <= 256
    assert 1 <= len(app["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in app["Labels"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", app["SemanticVersion"])
    # No invented repository: a URL is the publisher's to add (docs/deploy.md says how).
    assert not {"HomePageUrl", "SourceCodeUrl"} & set(app)


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^\s*```{language}\n(.*?)^\s*```", text, re.S | re.M)


def test_deploy_md_shows_package_publish_and_a_nested_application_of_real_parameters(tmp_path):
    section = _section(
        (ROOT / "docs" / "deploy.md").read_text(), "## Publishing to the Serverless Application Repository"
    )
    commands = "\n".join(_blocks(section, "sh"))
    assert "sam package --s3-bucket <bucket> --output-template-file packaged.yaml" in commands
    assert "sam publish --template packaged.yaml" in commands
    assert "serverlessrepo.amazonaws.com" in section and "s3:GetObject" in section
    [nested] = [b for b in _blocks(section, "yaml") if "AWS::Serverless::Application" in b]
    (tmp_path / "parent.yaml").write_text(nested)
    snippet = tpl.load_template(tmp_path / "parent.yaml")  # valid YAML, CloudFormation tags included
    template = tpl.load_template(ROOT / "template.yaml")

    [(name, resource)] = snippet["Resources"].items()
    assert resource["Type"] == "AWS::Serverless::Application"
    location = resource["Properties"]["Location"]
    assert location["ApplicationId"].startswith("arn:aws:serverlessrepo:")
    assert location["ApplicationId"].endswith(
        ":applications/" + template["Metadata"]["AWS::ServerlessRepo::Application"]["Name"]
    )
    assert location["SemanticVersion"] == VERSION
    parameters = resource["Properties"]["Parameters"]
    assert parameters and set(parameters) <= set(template["Parameters"]), set(parameters) - set(template["Parameters"])
    for output in snippet.get("Outputs", {}).values():
        resource_name, attribute = output["Value"]["Fn::GetAtt"]
        assert resource_name == name and attribute.startswith("Outputs."), attribute
        assert attribute.split(".", 1)[1] in template["Outputs"], attribute


# -- README's "Deploying to AWS" block, as written ------------------------------------------------------------

# Commands of the block that need an AWS account, and why they are not run here.
NEEDS_AWS = {
    "make deploy": "sam deploy --guided creates a CloudFormation stack: needs an AWS account",
    '.venv/bin/lti-gateway orgs create "Acme University" --stack <stack-name>': "needs a deployed stack",
}


def readme_deploy_commands() -> list[str]:
    section = _section((ROOT / "README.md").read_text(), "## Deploying to AWS")
    first = _blocks(section, "bash")[0]
    return [line.split("  #", 1)[0].strip() for line in first.splitlines() if line.strip()]


def test_readme_deploy_block_is_make_sam_make_build_then_deploy():
    commands = readme_deploy_commands()
    assert commands[:3] == ["make sam", "make build", "make deploy"], commands
    assert not any(c.startswith(("pip install aws-sam-cli", "sam build")) for c in commands), commands
    assert set(commands) - {"make sam", "make build"} <= set(NEEDS_AWS), set(commands) - set(NEEDS_AWS)


def test_readme_deploy_block_runs_as_written_up_to_what_needs_an_aws_account(real_build):
    """`make sam` runs as written; `make build` is the real build above (into a temporary BUILD_DIR, not
    the checkout's .aws-sam/build); the rest needs an AWS account (NEEDS_AWS says why)."""
    build, built, _took = real_build
    ran = []
    for command in readme_deploy_commands():
        if command in NEEDS_AWS:
            continue
        argv = shlex.split(command)
        assert argv[0] == "make" and argv[1:] in (["sam"], ["build"]), command
        done = built if argv[1:] == ["build"] else make(*argv[1:], timeout=300)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        ran.append(command)
    assert ran == ["make sam", "make build"]
    assert (build / "template.yaml").is_file()


def test_the_sam_cli_is_not_installed_into_the_project_venv():
    """`make sam` keeps aws-sam-cli out of .venv (it would downgrade boto3, click, cfn-lint there)."""
    done = subprocess.run([sys.executable, "-m", "pip", "show", "aws-sam-cli"], capture_output=True, text=True)
    assert done.returncode != 0, "aws-sam-cli is installed into the project's venv"
