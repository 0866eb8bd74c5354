"""The local broker's TLS material: a project-local certificate authority and a broker
certificate for 127.0.0.1/localhost, made with the `cryptography` package on first start.

Sits under infra.kafka_broker. Files (under <KETENLOG_HOME>/kafka/tls):

    ca.pem           the CA certificate: what clients trust (`ssl_cafile`), readable by all
    ca.key           the CA's private key, owner-only (to issue a new broker certificate)
    broker.pem       the broker's private key (PKCS#8) and certificate chain, owner-only:
                     Kafka's PEM keystore (ssl.keystore.type=PEM)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS_CA = 3650
VALID_DAYS_BROKER = 825
# Renew the broker certificate this long before it expires.
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def broker(self) -> Path:
        return self.folder / "broker.pem"


def files(kafka_root: Path) -> TlsFiles:
    return TlsFiles(kafka_root / "tls")


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (created so: never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ketenlog (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _new_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("ketenlog local CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS_CA))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_broker(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ketenlog broker"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS_BROKER))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _broker_current(path: Path, ca: x509.Certificate, now: dt.datetime) -> bool:
    if not path.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    except ValueError:
        return False
    return cert.issuer == ca.subject and cert.not_valid_after_utc - RENEW_BEFORE > now


def ensure(kafka_root: Path) -> tuple[TlsFiles, list[str]]:
    """The CA and a current broker certificate, made where missing; returns what was made."""
    tls = files(kafka_root)
    tls.folder.mkdir(parents=True, exist_ok=True)
    os.chmod(tls.folder, 0o755)
    now = dt.datetime.now(dt.UTC)
    made: list[str] = []
    if tls.ca_cert.exists() and tls.ca_key.exists():
        ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
        loaded = serialization.load_pem_private_key(tls.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{tls.ca_key} is not the EC key ketenlog makes; delete {tls.folder}")
        ca_key = loaded
    else:
        ca_key, ca = _new_ca(now)
        write_private(
            tls.ca_key,
            ca_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        tls.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        os.chmod(tls.ca_cert, 0o644)
        tls.broker.unlink(missing_ok=True)
        made.append(f"a certificate authority ({tls.ca_cert})")
    if not _broker_current(tls.broker, ca, now):
        key, cert = _new_broker(ca_key, ca, now)
        pem = (
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
            + ca.public_bytes(serialization.Encoding.PEM)
        )
        write_private(tls.broker, pem)
        made.append(f"a broker certificate for 127.0.0.1 ({tls.broker})")
    return tls, made
