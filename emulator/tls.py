"""HTTPS for `serve --tls`: a self-signed certificate for 127.0.0.1 and localhost, made once under .emulator/tls/,
that clients trust through REQUESTS_CA_BUNDLE (Python) or NODE_EXTRA_CA_CERTS (Node)."""
from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DIRECTORY = ".emulator/tls"
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")
VALID_DAYS = 365
RENEW_BEFORE = timedelta(days=7)  # a certificate this close to expiry is replaced


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    created: bool  # False when an existing, still valid certificate was reused


def ensure_certificate(directory: str | Path = DEFAULT_DIRECTORY, now: datetime | None = None) -> Certificate:
    """The certificate and key in `directory`, created when missing, unreadable, expiring or lacking a SAN."""
    directory = Path(directory).resolve()
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    moment = now or datetime.now(UTC)
    if key_path.exists() and _usable(cert_path, moment):
        return Certificate(cert_path, key_path, created=False)
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(key, moment)
    # the key is written readable by its owner only, before any content lands in it
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Certificate(cert_path, key_path, created=True)


def server_context(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(certificate.cert), str(certificate.key))
    return context


def _usable(cert_path: Path, now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    has_names = set(DNS_NAMES) <= set(names.get_values_for_type(x509.DNSName)) and \
        {ipaddress.ip_address(a) for a in IP_ADDRESSES} <= set(names.get_values_for_type(x509.IPAddress))
    return has_names and cert.not_valid_before_utc <= now and now + RENEW_BEFORE < cert.not_valid_after_utc


def _self_signed(key: rsa.RSAPrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dataverse-emulator")])
    public = key.public_key()
    san = [x509.DNSName(n) for n in DNS_NAMES] + [x509.IPAddress(ipaddress.ip_address(a)) for a in IP_ADDRESSES]
    # The certificate is its own CA (clients add it as a trust anchor), so it carries CA and server-auth usages,
    # and both key identifiers that strict X.509 checking (Python 3.13+) asks for.
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                     content_commitment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
