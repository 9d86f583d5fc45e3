"""PAdES signatures on every exported document, with a key of the store's (pyHanko).

A standard PDF reader (Acrobat, Okular, pdfsig) shows the signature, who signed
and whether the file changed after signing; ``packet verify`` checks it against
the store's certificate. The key is ECDSA P-256 (what readers widely support),
with a self-signed certificate ``CN=xai-gov document signing``; both live in the
store's key directory, never in the database, and are created on first use. A
reader will call the signer "unknown" until the certificate
(``document-signing-cert.pem``) is trusted: hand it to the examiner with the
ledger's public key.

What the signature does not add: the ledger's export event already fixes the
file's SHA-256; the signature lets someone without access to the store check
the file, and a reader show it.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from xai_gov.errors import InvalidInput

KEY_FILE = "document-signing-key.pem"
CERT_FILE = "document-signing-cert.pem"
FIELD = "xai-gov"
RESERVED_BYTES = 8192  # room for the CMS signature: no trial signature to size it


@dataclass(frozen=True)
class SignatureCheck:
    """``status``: valid (intact, made by this store's certificate, covering the whole file), invalid, or unsigned."""

    status: str
    signer: str | None
    message: str

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "signer": self.signer, "message": self.message}


class DocumentSigner:
    def __init__(self, key_dir: Path) -> None:
        self.key_path = key_dir / KEY_FILE
        self.cert_path = key_dir / CERT_FILE

    def ensure_key(self) -> bool:
        """Create the signing key (mode 0600) and its self-signed certificate unless they exist; True when created."""
        if self.key_path.exists() and self.cert_path.exists():
            return False
        self.key_path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xai-gov document signing"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xai-gov store")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        self.cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return True

    def sign(self, pdf: bytes) -> bytes:
        """The PDF with a PAdES signature appended (an incremental update covering the whole file)."""
        _import_pyhanko()
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        self.ensure_key()
        signer = signers.SimpleSigner.load(str(self.key_path), str(self.cert_path))
        if signer is None:
            raise InvalidInput(f"cannot load the document signing key {self.key_path}", field="signing_key")
        metadata = signers.PdfSignatureMetadata(field_name=FIELD, subfilter=fields.SigSeedSubFilter.PADES,
                                                md_algorithm="sha256", reason="xai-gov audit document export")
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = signers.PdfSigner(metadata, signer=signer).sign_pdf(writer, bytes_reserved=RESERVED_BYTES)
        return out.getvalue()

    def check(self, pdf: bytes) -> SignatureCheck:
        """The file's signature against this store's certificate."""
        _import_pyhanko()
        from pyhanko.keys import load_cert_from_pemder
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko.sign.validation.errors import SignatureValidationError
        from pyhanko.sign.validation.status import SignatureCoverageLevel
        from pyhanko_certvalidator import ValidationContext

        try:
            signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        except Exception as exc:  # a damaged file: pyHanko raises many kinds
            return SignatureCheck("invalid", None, f"the file's signatures cannot be read: {exc}")
        if not signatures:
            return SignatureCheck("unsigned", None, "the file carries no signature")
        if not self.cert_path.exists():
            return SignatureCheck("invalid", None, f"this store has no document signing certificate "
                                                   f"({self.cert_path})")
        context = ValidationContext(trust_roots=[load_cert_from_pemder(str(self.cert_path))], allow_fetching=False)
        try:
            status = validate_pdf_signature(signatures[-1], context)
        except (SignatureValidationError, ValueError) as exc:
            return SignatureCheck("invalid", None, f"the signature does not validate: {exc}")
        signer = status.signing_cert.subject.human_friendly if status.signing_cert else None
        if not (status.intact and status.valid):
            return SignatureCheck("invalid", signer, "the signature does not match the file: it was changed after "
                                                     "signing")
        if not status.trusted:
            return SignatureCheck("invalid", signer, "the file is signed, but not with this store's certificate")
        if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            return SignatureCheck("invalid", signer, "the signature covers only part of the file: something was "
                                                     "appended after signing")
        return SignatureCheck("valid", signer, f"signed by {signer}, intact, covering the whole file")


def _import_pyhanko() -> None:
    """Import pyHanko's signing modules once, without cryptography 51's warning that DSA is deprecated:
    pyHanko imports the DSA key types for its own type checks; packets are signed with EC keys only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning)
        import pyhanko.sign.signers
        import pyhanko.sign.validation  # noqa: F401
