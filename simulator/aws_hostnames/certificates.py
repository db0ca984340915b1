"""A certificate authority made for one simulator, and the server certificates it signs for AWS host
names as clients ask for them (by SNI), so that an SDK verifying TLS against the simulator's bundle
accepts the gateway as ``ssm.us-east-1.amazonaws.com`` or ``bucket.s3.amazonaws.com``.

Keys are EC P-256 (a key costs microseconds, RSA ~50 ms) and live only in the simulator's own
directory, which it removes at stop; certificates expire after ``_VALIDITY``.
"""

from __future__ import annotations

import re
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .names import is_aws_name

_VALIDITY = timedelta(days=30)
_CLOCK_SKEW = timedelta(hours=1)  # a container clock a little behind the host still accepts them
_NAME_WITHOUT_SNI = "*.amazonaws.com"
_HOST_NAME = re.compile(r"[A-Za-z0-9._-]{1,253}")  # it becomes a file name


class HostCertificates:
    """The CA in ``directory`` (``bundle_path``: the public CAs plus this one) and a TLS server context
    that presents, per SNI name, a certificate for exactly that AWS name."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())  # shared by the leaves: one process
        now = datetime.now(UTC)
        self._not_before, self._not_after = now - _CLOCK_SKEW, now + _VALIDITY
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ecs-sim local AWS endpoints CA")])
        self._issuer = subject
        public_key = self._key.public_key()
        self._ca_key_id = x509.SubjectKeyIdentifier.from_public_key(public_key)
        self.ca_certificate = (
            self._builder(subject, self._key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(self._ca_key_id, critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.bundle_path = directory / "aws-ca-bundle.pem"
        ca_pem = self.ca_certificate.public_bytes(serialization.Encoding.PEM)
        self.bundle_path.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca_pem)
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self.server_context = self._context_for(_NAME_WITHOUT_SNI)
        self.server_context.sni_callback = self._choose

    def _builder(self, subject: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._not_before)
            .not_valid_after(self._not_after)
        )

    def _choose(self, connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        if server_name and _HOST_NAME.fullmatch(server_name) and is_aws_name(server_name):
            connection.context = self._context_for(server_name.lower())

    def _context_for(self, name: str) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(name)
            if context is None:
                context = self._contexts[name] = self._new_context(name)
            return context

    def _new_context(self, name: str) -> ssl.SSLContext:
        certificate = (
            self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), self._leaf_key)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(self._ca_key_id),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        # load_cert_chain reads only files: the certificate and its key, side by side. (The CA is the
        # root: clients have it or fail, so it is not sent.)
        chain = self._directory / f"{name.replace('*', '_')}.pem"
        chain.write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + self._leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
