"""The device certificate for HTTPS: ECDSA P-256, self-signed, made on first start.

The phone app pins it on first contact (it arrives over the charger's own
hotspot, right after the QR scan). It is renewed when it nears expiry or when
the hostname changed, since a certificate that does not name the host is useless.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import socket
import ssl
import struct
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ncpa.api.tokens import write_private_key
from ncpa.log import get_logger

log = get_logger(__name__)

CERT_FILE = "device-cert.pem"
KEY_FILE = "device-cert.key"
VALID_DAYS = 3650
RENEW_BEFORE_DAYS = 30

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


SIOCGIFADDR = 0x8915


def interface_addresses() -> list[IpAddress]:
    """IPv4 address of each network interface (Linux ioctl; nothing is sent)."""
    out: list[IpAddress] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _index, name in socket.if_nameindex():
            try:
                req = struct.pack("256s", name.encode()[:15])
                res = fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)
            except OSError:
                continue  # interface without an IPv4 address
            out.append(ipaddress.ip_address(socket.inet_ntoa(res[20:24])))
    return out


def local_names(extra: Iterable[str] = ()) -> tuple[list[str], list[IpAddress]]:
    """DNS names and addresses the charger answers on (hostname, its addresses, loopback)."""
    hostname = socket.gethostname()
    dns = {hostname, "localhost"}
    ips: set[IpAddress] = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    try:
        for info in socket.getaddrinfo(hostname, None):
            ips.add(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
    except OSError:
        pass  # no resolver on a fresh device: the names we have are enough
    with contextlib.suppress(OSError):
        ips.update(interface_addresses())
    for item in extra:
        try:
            ips.add(ipaddress.ip_address(item))
        except ValueError:
            dns.add(item)
    return sorted(dns), sorted(ips, key=lambda a: (a.version, int(a)))


def _make(cert_path: Path, key_path: Path, common_name: str, extra: Iterable[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = local_names(extra)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    write_private_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("api.tls.certificate_created", path=str(cert_path), dns=dns, ips=[str(i) for i in ips])


def _needs_renewal(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return True
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    if left < dt.timedelta(days=RENEW_BEFORE_DAYS):
        return True
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return True
    return socket.gethostname() not in san.get_values_for_type(x509.DNSName)


def ensure_certificate(
    folder: Path, common_name: str, extra_names: Iterable[str] = ()
) -> tuple[Path, Path]:
    """Return (cert, key) paths in folder, creating or renewing them when needed."""
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if not key_path.exists() or _needs_renewal(cert_path):
        folder.mkdir(parents=True, exist_ok=True)
        _make(cert_path, key_path, common_name, extra_names)
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return ctx
