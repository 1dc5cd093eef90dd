"""SafeHttp, the one outbound client: the host is resolved once, every address it resolves to is checked
(IPv6 transition forms unwrapped), the connection goes to those checked addresses only (DNS rebinding
cannot switch it), and TLS still verifies the certificate against the URL's host name.

The network is faked at the two calls SafeHttp makes: ``socket.getaddrinfo`` answers what a test says a
name resolves to (and counts the lookups), and ``socket.create_connection`` records every address it is
asked to connect to and sends the public test address to a TLS peer on 127.0.0.1 (a certificate for the
test name, signed by a test CA that ``SSL_CERT_FILE`` makes the default context trust).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lti_gateway.core.errors import OutboundRefused
from lti_gateway.core.http_client import SafeHttp
from tests.peers.loopback import LoopbackServer, QuietHandler

NAME = "lms.example.test"
PUBLIC = "93.184.215.14"  # globally routable: the fake resolver answers it, the fake connect redirects it
PUBLIC_V6 = "2606:4700:4700::1111"

# Every form the guard must refuse, as what a name resolves to and as a literal in the URL.
NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:0:127.0.0.1",  # IPv4-translated (SIIT)
    "64:ff9b::7f00:1",  # NAT64, well-known prefix
    "64:ff9b::a9fe:a9fe",  # NAT64 of the instance metadata address
    "64:ff9b:1::7f00:1",  # NAT64, local-use prefix
    "64:ff9b:1::808:808",  # local-use NAT64 is never public, whatever it carries
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # instance metadata
    "fd00:ec2::254",  # instance metadata over IPv6 (unique local)
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",  # noqa: S104 - an address the guard refuses, not a bind
    "::",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "ff0e::1",
    "fe80::1",
    "fec0::1",  # site-local (deprecated)
    "fc00::1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.77",  # documentation (TEST-NET-2)
    "2001:db8::1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
]
PUBLIC_FORMS = [PUBLIC, PUBLIC_V6, "::ffff:93.184.215.14", "64:ff9b::5db8:d70e", "8.8.8.8"]


# -- a test CA, and a TLS peer on loopback ---------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    certs: dict[str, tuple[Path, Path]]  # name -> (certificate chain, key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("SafeHttp test CA"))
        .issuer_name(_name("SafeHttp test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certs = {}
    for host in (NAME, "other.example.test"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        chain, key_file = folder / f"{host}.pem", folder / f"{host}.key"
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        certs[host] = (chain, key_file)
    return Pki(ca_file, certs)


class Peer:
    """An HTTP(S) server on 127.0.0.1 recording the SNI it was offered and each request's Host header."""

    def __init__(self, *, cert: tuple[Path, Path] | None = None, status: int = 200, headers: dict | None = None):
        self.sni: list[str | None] = []
        self.requests: list[tuple[str, str, str | None]] = []
        peer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                peer.requests.append(("GET", self.path, self.headers.get("Host")))
                self.reply(status, b'{"keys": []}', "application/json", headers)

        self.server = LoopbackServer(Handler)
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*cert)
            context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> Peer:
        self.server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()


@dataclass
class Network:
    """The fake resolver and connect: ``answers[name]`` is a list of address lists, one per lookup (the
    last one repeats); ``redirects`` sends an address to a loopback port."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    redirects: dict[str, int] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def network(monkeypatch) -> Iterator[Network]:
    net = Network()
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in net.answers:
            return real_getaddrinfo(host, port, *args, **kwargs)
        net.lookups.append(host)
        turns = net.answers[host]
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    def create_connection(address, *args, **kwargs):
        net.connects.append(address[:2])
        if address[0] in net.redirects:
            return real_connect(("127.0.0.1", net.redirects[address[0]]), *args, **kwargs)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield net


@pytest.fixture
def trust_test_ca(monkeypatch, pki) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def refused(call, kind: str = "url_not_allowed") -> str:
    with pytest.raises(OutboundRefused) as caught:
        call()
    assert caught.value.kind == kind, caught.value.details
    return caught.value.details["reason"]


# -- the connection goes where the check looked, TLS checks the name -----------------------------------


def test_the_connection_goes_to_the_checked_address_and_tls_verifies_the_host_name(network, pki, trust_test_ca):
    with Peer(cert=pki.certs[NAME]) as peer:
        network.answers[NAME] = [[PUBLIC]]
        network.redirects[PUBLIC] = peer.port

        answer = SafeHttp().request("GET", f"https://{NAME}:{peer.port}/jwks?x=1")

    assert (answer.status, answer.body) == (200, b'{"keys": []}')
    assert network.lookups == [NAME]  # resolved once, by the guard
    assert network.connects == [(PUBLIC, peer.port)]  # connected to the address it checked
    assert peer.sni == [NAME]  # TLS offered the URL's host name…
    assert peer.requests == [("GET", "/jwks?x=1", f"{NAME}:{peer.port}")]  # …and so did the Host header


def test_dns_rebinding_cannot_switch_the_address(network, pki, trust_test_ca):
    """The name answers a public address first and loopback afterwards: only the first answer is used."""
    with Peer(cert=pki.certs[NAME]) as peer:
        network.answers[NAME] = [[PUBLIC], ["127.0.0.1"]]
        network.redirects[PUBLIC] = peer.port

        first = SafeHttp().request("GET", f"https://{NAME}:{peer.port}/jwks")
        again = refused(lambda: SafeHttp().request("GET", f"https://{NAME}:{peer.port}/jwks"))

    assert first.status == 200
    assert network.lookups == [NAME, NAME]  # one lookup per request, never a second one to connect
    assert network.connects == [(PUBLIC, peer.port)]  # the loopback answer was never connected to
    assert "127.0.0.1" not in again and NAME in again


def test_every_checked_address_is_tried_in_order_and_no_other(network, pki, trust_test_ca):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused
    with Peer(cert=pki.certs[NAME]) as peer:
        network.answers[NAME] = [[PUBLIC_V6, PUBLIC]]
        network.redirects.update({PUBLIC_V6: closed_port, PUBLIC: peer.port})

        answer = SafeHttp().request("GET", f"https://{NAME}:{peer.port}/jwks")

    assert answer.status == 200
    assert network.connects == [(PUBLIC_V6, peer.port), (PUBLIC, peer.port)]


def test_a_certificate_for_another_name_is_refused(network, pki, trust_test_ca):
    with Peer(cert=pki.certs["other.example.test"]) as peer:
        network.answers[NAME] = [[PUBLIC]]
        network.redirects[PUBLIC] = peer.port

        with pytest.raises(urllib.error.URLError) as caught:
            SafeHttp().request("GET", f"https://{NAME}:{peer.port}/jwks")

    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)
    assert "hostname" in str(caught.value.reason).lower() or "match" in str(caught.value.reason).lower()
    assert peer.requests == []


def test_a_certificate_from_an_unknown_authority_is_refused(network, pki, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file.with_name("missing.pem")))
    with Peer(cert=pki.certs[NAME]) as peer:
        network.answers[NAME] = [[PUBLIC]]
        network.redirects[PUBLIC] = peer.port

        with pytest.raises(urllib.error.URLError) as caught:
            SafeHttp().request("GET", f"https://{NAME}:{peer.port}/jwks")

    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)
    assert peer.requests == []


# -- what a name resolves to ------------------------------------------------------------------------------


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_name_resolving_to_an_address_that_is_not_public_is_refused_before_connecting(network, address):
    network.answers[NAME] = [[address]]

    reason = refused(lambda: SafeHttp().request("GET", f"https://{NAME}/jwks"))

    assert reason == f"host {NAME} resolves to an address that is not public"  # the address is not echoed
    assert network.lookups == [NAME] and network.connects == []


def test_one_private_address_among_public_ones_refuses_the_name(network):
    network.answers[NAME] = [[PUBLIC, PUBLIC_V6, "10.1.2.3"]]

    refused(lambda: SafeHttp().check_url(f"https://{NAME}/jwks"))

    assert network.connects == []


@pytest.mark.parametrize("address", PUBLIC_FORMS)
def test_names_resolving_to_public_addresses_pass_the_check(network, address):
    network.answers[NAME] = [[address]]

    SafeHttp().check_url(f"https://{NAME}/jwks")

    assert network.lookups == [NAME]


def test_localhost_is_refused_by_name_and_by_what_it_resolves_to(network):
    assert "localhost" in refused(lambda: SafeHttp().check_url("https://localhost/jwks"))
    network.answers["loopback.example.test"] = [["127.0.0.1", "::1"]]
    refused(lambda: SafeHttp().check_url("https://loopback.example.test/jwks"))
    assert network.connects == []


def test_a_name_that_does_not_resolve(network, monkeypatch):
    def nothing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nothing)

    assert refused(lambda: SafeHttp().check_url(f"https://{NAME}/"), "unreachable") == "host does not resolve"


# -- addresses written in the URL ---------------------------------------------------------------------------


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_literal_address_that_is_not_public_is_refused_and_named(network, address):
    host = f"[{address}]" if ":" in address else address
    reason = refused(lambda: SafeHttp().request("GET", f"https://{host}/jwks"))

    assert reason.startswith("host is not a public address: ")
    assert network.connects == []


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("https://[::127.0.0.1]/", "IPv4-compatible form of 127.0.0.1, a loopback address"),
        ("https://[64:ff9b::7f00:1]/", "NAT64 form of 127.0.0.1, a loopback address"),
        ("https://[64:ff9b:1::a00:1]/", "NAT64 form of 10.0.0.1, a private address"),
        ("https://[2002:7f00:1::]/", "6to4 form of 127.0.0.1, a loopback address"),
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo form of 127.0.0.1, a loopback address"),
        ("https://100.64.12.34/", "shared (carrier-grade NAT) address"),
        ("https://127.1/", "127.0.0.1 is a loopback address"),
        ("https://2130706433/", "127.0.0.1 is a loopback address"),
        ("https://0x7f000001/", "127.0.0.1 is a loopback address"),
        ("https://0251.0376.0251.0376/", "169.254.169.254 is a link-local address"),
        ("https://[fe80::1%25eth0]/", "fe80::1 is a link-local address"),
    ],
)
def test_the_refusal_names_the_embedded_address(network, url, named):
    assert named in refused(lambda: SafeHttp().check_url(url))
    assert network.connects == []


def test_https_only_unless_http_is_allowed(network):
    assert refused(lambda: SafeHttp().check_url(f"http://{NAME}/")) == "URL must be https"
    assert refused(lambda: SafeHttp().check_url("ftp://lms.example.test/")) == "URL must be https"
    assert refused(lambda: SafeHttp().check_url("https:///jwks")) == "URL names no host"
    assert refused(lambda: SafeHttp().check_url(f"https://{NAME}:99999/")) == "URL is malformed"
    network.answers[NAME] = [[PUBLIC]]
    SafeHttp(allow_http=True).check_url(f"http://{NAME}/")
    assert network.connects == []


# -- the local mode, proxies, redirects -----------------------------------------------------------------------


def test_the_local_mode_allows_loopback_and_still_pins_the_address(network):
    with Peer() as peer:
        network.answers["peer.example.test"] = [["127.0.0.1"], ["192.0.2.1"]]

        answer = SafeHttp(allow_http=True, allow_private_addresses=True).request(
            "GET", f"http://peer.example.test:{peer.port}/x"
        )

    assert answer.status == 200
    assert network.lookups == ["peer.example.test"]
    assert network.connects == [("127.0.0.1", peer.port)]
    assert peer.requests == [("GET", "/x", f"peer.example.test:{peer.port}")]


def test_proxies_from_the_environment_are_not_used(network, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing answers there
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with Peer() as peer:
        answer = SafeHttp(allow_http=True, allow_private_addresses=True).request(
            "GET", f"http://127.0.0.1:{peer.port}/x"
        )

    assert answer.status == 200
    assert network.connects == [("127.0.0.1", peer.port)]


def test_a_redirect_is_answered_not_followed(network):
    with Peer(status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}) as peer:
        answer = SafeHttp(allow_http=True, allow_private_addresses=True).request(
            "GET", f"http://127.0.0.1:{peer.port}/x"
        )

    assert answer.status == 302 and answer.headers["Location"] == "http://127.0.0.1:9/elsewhere"
    assert network.connects == [("127.0.0.1", peer.port)]
