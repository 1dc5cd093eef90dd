"""Launch URLs and the checks on stored URLs (pure: settings from the environment, no AWS)."""

from __future__ import annotations

import pytest

from lti_gateway.core import config, urls
from lti_gateway.core.errors import ValidationFailed

BASE_ENV = {"KEYS_TABLE": "k", "LAUNCH_TABLE": "l", "CLASSES_TABLE": "c", "KMS_KEY_ID": "key"}


@pytest.fixture
def env(monkeypatch):
    def set_env(**extra: str) -> None:
        for name, value in {**BASE_ENV, **extra}.items():
            monkeypatch.setenv(name, value)
        for name in ("PUBLIC_BASE_URL", "ALLOWED_APP_ORIGINS"):
            if name not in extra:
                monkeypatch.delenv(name, raising=False)
        config.settings.cache_clear()

    set_env()
    yield set_env
    config.settings.cache_clear()


def event(domain: str | None) -> dict:
    return {"requestContext": {"domainName": domain}} if domain is not None else {}


# -- launch URLs ------------------------------------------------------------------------------------


def test_launch_urls_from_the_request_host(env):
    base = urls.event_base_url(event("abc123.execute-api.eu-west-1.amazonaws.com"))

    assert base == "https://abc123.execute-api.eu-west-1.amazonaws.com"
    assert urls.class_launch_url(base, "cls_0123456789abcdef") == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/lti/launch/cls_0123456789abcdef"
    )
    assert urls.unit_launch_url(base, "cls_0123456789abcdef", "unt_fedcba9876543210") == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/lti/launch/cls_0123456789abcdef/unt_fedcba9876543210"
    )


def test_the_public_base_url_wins_over_the_request_host(env):
    env(PUBLIC_BASE_URL="https://lti.example.edu/gateway/")

    base = urls.event_base_url(event("abc123.execute-api.eu-west-1.amazonaws.com"))

    assert base == "https://lti.example.edu/gateway"
    assert urls.class_launch_url(base, "cls_1") == "https://lti.example.edu/gateway/lti/launch/cls_1"


def test_a_function_url_host_works_too(env):
    host = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws"
    assert urls.event_base_url(event(host)) == f"https://{host}"


@pytest.mark.parametrize("domain", [None, "", "evil.example/path", "a b", "host@evil", "-bad.example"])
def test_no_usable_host_and_no_public_base_url_is_refused(env, domain):
    with pytest.raises(ValidationFailed) as caught:
        urls.event_base_url(event(domain))
    assert caught.value.code == "no_public_base_url"


# -- app launch URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/launch",
        "https://app.example.com:443/launch?x=1&y=2",
        "https://APP.Example.com/launch",
        "http://localhost:5173/launch",
        "http://127.0.0.1:8000/",
    ],
)
def test_allowed_app_launch_urls(env, url):
    env(ALLOWED_APP_ORIGINS="https://app.example.com, http://localhost:5173,http://127.0.0.1:8000")
    assert urls.validate_app_launch_url(url) == url


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://other.example.com/launch", "app_origin_not_allowed"),
        ("https://app.example.com:8443/launch", "app_origin_not_allowed"),
        ("http://localhost:3000/launch", "app_origin_not_allowed"),
        ("http://app.example.com/launch", "validation_failed"),
        ("javascript:alert(1)", "validation_failed"),
        ("JAVASCRIPT://app.example.com/%0aalert(1)", "validation_failed"),
        ("vbscript:msgbox", "validation_failed"),
        ("https://app.example.com/launch#x", "validation_failed"),
        ("https://u:p@app.example.com/launch", "validation_failed"),
        ("https://app.example.com:99999/launch", "validation_failed"),
        ("https:///launch", "validation_failed"),
        ("https://app.example.com/\tlaunch", "validation_failed"),
        ("https://app.example.com/" + "x" * 2048, "validation_failed"),
        ("", "validation_failed"),
        (None, "validation_failed"),
        (["https://app.example.com"], "validation_failed"),
    ],
)
def test_refused_app_launch_urls(env, url, code):
    env(ALLOWED_APP_ORIGINS="https://app.example.com,http://localhost:5173")
    with pytest.raises(ValidationFailed) as caught:
        urls.validate_app_launch_url(url)
    assert caught.value.code == code
    assert "app_launch_url" in caught.value.details


def test_origin_refusals_name_the_allowed_origins(env):
    env(ALLOWED_APP_ORIGINS="https://app.example.com:443,https://Other.example.com:8443")
    with pytest.raises(ValidationFailed) as caught:
        urls.validate_app_launch_url("https://evil.example.net/")
    assert caught.value.details["allowed_origins"] == ["https://app.example.com", "https://other.example.com:8443"]
    assert urls.validate_app_launch_url("https://other.example.com:8443/x")


def test_a_star_allows_any_https_origin(env):
    env(ALLOWED_APP_ORIGINS="*")
    assert urls.validate_app_launch_url("https://anything.example.org/l")
    with pytest.raises(ValidationFailed):
        urls.validate_app_launch_url("http://anything.example.org/l")


def test_class_lms_urls_are_any_absolute_http_url(env):
    assert urls.validate_lms_url("http://moodle.school.example/course/view.php?id=7#section-2")
    for bad in ("moodle.school.example/course", "ftp://x.example/", "https://a:b@x.example/", 7):
        with pytest.raises(ValidationFailed):
            urls.validate_lms_url(bad)


# -- effective app launch URL -----------------------------------------------------------------------


def test_effective_app_launch_url_prefers_unit_then_class_then_org(env):
    env(ALLOWED_APP_ORIGINS="https://app.example.com")
    org = {"app_launch_url": "https://app.example.com/org"}
    cls = {"app_launch_url": "https://app.example.com/class"}
    unit = {"app_launch_url": "https://app.example.com/unit"}

    assert urls.effective_app_launch_url(org, cls, unit) == "https://app.example.com/unit"
    assert urls.effective_app_launch_url(org, cls, {}) == "https://app.example.com/class"
    assert urls.effective_app_launch_url(org, {"app_launch_url": None}, None) == "https://app.example.com/org"
    assert urls.effective_app_launch_url(None, None, None) is None


def test_an_origin_removed_after_storing_is_refused_at_launch(env):
    env(ALLOWED_APP_ORIGINS="https://new.example.com")
    cls = {"app_launch_url": "https://old.example.com/launch"}

    with pytest.raises(ValidationFailed) as caught:
        urls.effective_app_launch_url(None, cls)
    assert caught.value.code == "app_origin_not_allowed"
    assert urls.effective_app_launch_url(None, cls, recheck=False) == "https://old.example.com/launch"


def test_an_organisation_allows_its_own_origins_and_never_another_ones(env):
    env()  # no AllowedAppOrigins: no operator restriction
    org = {"app_launch_url": "https://app.example.com/org", "app_origins": ["https://class.example.org"]}
    other = {"app_launch_url": "https://other.example.net/x", "app_origins": ["https://evil.example.net"]}
    cls = {"app_launch_url": "https://class.example.org/start"}
    stranger = {"app_launch_url": "https://evil.example.net/start"}

    assert urls.effective_app_launch_url(org, cls) == "https://class.example.org/start"
    assert urls.effective_app_launch_url(org, {}) == "https://app.example.com/org"
    assert urls.effective_app_launch_url(other, stranger) == "https://evil.example.net/start"
    with pytest.raises(ValidationFailed) as caught:
        urls.effective_app_launch_url(org, stranger)
    assert caught.value.code == "app_origin_not_allowed"
    assert urls.organisation_app_origins(org) == ["https://app.example.com", "https://class.example.org"]


def test_the_stack_list_restricts_on_top_of_the_organisation(env):
    env(ALLOWED_APP_ORIGINS="https://app.example.com")
    org = {"app_launch_url": "https://app.example.com/org", "app_origins": ["https://class.example.org"]}

    assert urls.app_origin_allowed(org, "https://app.example.com")
    assert not urls.app_origin_allowed(org, "https://class.example.org")
    with pytest.raises(ValidationFailed) as caught:
        urls.effective_app_launch_url(org, {"app_launch_url": "https://class.example.org/start"})
    assert caught.value.code == "app_origin_not_allowed"


def test_an_organisation_stored_before_app_origins_keeps_the_stack_lists_answer(env):
    legacy = {"app_launch_url": "https://app.example.com/org"}  # no app_origins on the item
    cls = {"app_launch_url": "https://old.example.com/launch"}

    env(ALLOWED_APP_ORIGINS="https://app.example.com,https://old.example.com")
    assert urls.effective_app_launch_url(legacy, cls) == "https://old.example.com/launch"
    env(ALLOWED_APP_ORIGINS="*")
    assert urls.effective_app_launch_url(legacy, cls) == "https://old.example.com/launch"
    env()  # no list: only the organisation's own URL's origin
    assert urls.effective_app_launch_url(legacy, {}) == "https://app.example.com/org"
    with pytest.raises(ValidationFailed):
        urls.effective_app_launch_url(legacy, cls)
    # Once the organisation keeps app_origins, the stack list no longer allows anything by itself.
    env(ALLOWED_APP_ORIGINS="https://app.example.com,https://old.example.com")
    with pytest.raises(ValidationFailed):
        urls.effective_app_launch_url({**legacy, "app_origins": []}, cls)


def test_no_stack_list_means_no_restriction(env):
    env()
    assert urls.validate_app_launch_url("https://anything.example.org/l") == "https://anything.example.org/l"
    assert urls.validate_app_origin("https://Anything.example.org:443/") == "https://anything.example.org"
    with pytest.raises(ValidationFailed):
        urls.validate_app_launch_url("http://anything.example.org/l")


# -- the server-side request forgery guard ----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("localhost", "localhost is a loopback name"),
        ("LMS.localhost.", "lms.localhost is a loopback name"),
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("::127.0.0.1", "::7f00:1 is an IPv4-compatible form of 127.0.0.1, a loopback address"),
        ("::ffff:0:a00:1", "::ffff:0:a00:1 is an IPv4-translated form of 10.0.0.1, a private address"),
        ("64:ff9b::7f00:1", "64:ff9b::7f00:1 is a NAT64 form of 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe is a NAT64 form of 169.254.169.254, a link-local address"),
        ("64:ff9b:1::7f00:1", "64:ff9b:1::7f00:1 is a NAT64 form of 127.0.0.1, a loopback address"),
        ("64:ff9b:1::808:808", "64:ff9b:1::808:808 is not a globally routable address"),
        ("2002:7f00:1::", "2002:7f00:1:: is a 6to4 form of 127.0.0.1, a loopback address"),
        ("2002:c0a8:101::1", "2002:c0a8:101::1 is a 6to4 form of 192.168.1.1, a private address"),
        ("2002:808:808::1", "2002:808:808::1 is not a globally routable address"),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "2001:0:4136:e378:8000:63bf:80ff:fffe is a Teredo form of 127.0.0.1, a loopback address",
        ),
        ("2001:0:808:808:8000:63bf:f7f7:f7f7", "2001:0:808:808:8000:63bf:f7f7:f7f7 is a private address"),
        ("::8.8.8.8", "::808:808 is not a globally routable address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("172.31.255.255", "172.31.255.255 is a private address"),
        ("192.168.0.1", "192.168.0.1 is a private address"),
        ("fd12:3456::1", "fd12:3456::1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("fe80::1%eth0", "fe80::1 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "100.127.255.254 is a shared (carrier-grade NAT) address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),  # noqa: S104 - refused, not bound
        ("::", ":: is the unspecified address"),
        ("224.0.0.251", "224.0.0.251 is a multicast address"),
        ("239.255.255.250", "239.255.255.250 is a multicast address"),
        ("ff0e::1", "ff0e::1 is a multicast address"),
        ("240.0.0.1", "240.0.0.1 is a private address"),
        ("fec0::1", "fec0::1 is not a globally routable address"),
        ("192.0.0.9", "192.0.0.9 is not a globally routable address"),
        ("192.88.99.1", "192.88.99.1 is not a globally routable address"),
        ("198.18.0.1", "198.18.0.1 is a private address"),
        ("2001:db8::1", "2001:db8::1 is a private address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("2130706433", "127.0.0.1 is a loopback address"),
        ("0x7f.1", "127.0.0.1 is a loopback address"),
        ("012.1", "10.0.0.1 is a private address"),
    ],
)
def test_hosts_that_are_not_public_are_named_with_the_reason(host, problem):
    assert urls.host_problem(host) == problem
    assert urls.local_host(host) is True


@pytest.mark.parametrize(
    "host",
    [
        "8.8.8.8",
        "93.184.215.14",
        "2606:4700:4700::1111",
        "[2a00:1450:4001:82a::200e]",
        "::ffff:8.8.8.8",  # IPv4-mapped: judged as 8.8.8.8
        "64:ff9b::808:808",  # NAT64 of a public address (what DNS64 answers in an IPv6-only subnet)
        "lms.example.edu",  # a name is judged where it is called (SafeHttp resolves and checks it)
        "1abc.example",
        "localhost.example.edu",
    ],
)
def test_public_hosts_and_names_pass(host):
    assert urls.host_problem(host) is None
    assert urls.local_host(host) is False


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://[::ffff:127.0.0.1]/jwks", "IPv4-mapped form of 127.0.0.1"),
        ("https://[::127.0.0.1]/jwks", "IPv4-compatible form of 127.0.0.1"),
        ("https://[64:ff9b::7f00:1]/jwks", "NAT64 form of 127.0.0.1"),
        ("https://[64:ff9b:1::7f00:1]/jwks", "NAT64 form of 127.0.0.1"),
        ("https://[2002:7f00:1::]/jwks", "6to4 form of 127.0.0.1"),
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/jwks", "Teredo form of 127.0.0.1"),
        ("https://100.64.0.1/jwks", "shared (carrier-grade NAT)"),
        ("https://LOCALHOST./jwks", "localhost is a loopback name"),
        ("https://2130706433/jwks", "127.0.0.1 is a loopback address"),
    ],
)
def test_check_url_refuses_a_host_that_is_not_public_naming_it(url, named):
    with pytest.raises(ValidationFailed) as caught:
        urls.check_url("authConfig.key", url, public_host=True)

    message = caught.value.details["authConfig.key"]
    assert message.startswith("must be on a public host (not localhost or a private address): ")
    assert named in message
    assert urls.check_url("authConfig.key", url)[0] == url  # only on request


def test_check_url_accepts_public_hosts():
    for url in ("https://lms.example.edu/jwks", "https://[64:ff9b::808:808]/jwks", "https://8.8.8.8:8443/x"):
        assert urls.check_url("jwks", url, public_host=True)[0] == url
