"""`ncpa qr`: the QR labels of a charge point (one per role), from the issuer key
and the shared secret.

    ncpa qr --id NCPA-0001 --role installer               # token + QR in the terminal
    ncpa qr --id NCPA-0001 --format png --output labels/  # NCPA-0001-operator.png, ...
    TOKEN=$(ncpa qr --id NCPA-0001 --role installer --format token)

Defaults are the development keys in certs/dev, which the daemon trusts in
developer mode (the simulator), so a label made with the defaults pairs with it.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ncpa.api.settings import DEV_KEYS
from ncpa.config import ID_RULE, is_ocpp_identity

if TYPE_CHECKING:  # qrcode and the token maker load only when a label is made
    import qrcode

FORMATS = ("text", "token", "png", "svg")
ROLES = ("operator", "installer", "developer")


def add_qr_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", required=True, help="charge point id (the label's sub)")
    parser.add_argument(
        "--role",
        action="append",
        choices=ROLES,
        help="role of the label; repeat for several (default: operator and installer)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="text: token and QR; token: bare token"
    )
    parser.add_argument("--output", type=Path, help="png/svg: folder or file (default: .)")
    parser.add_argument(
        "--issuer-key", type=Path, default=DEV_KEYS / "qr-issuer.key", help="PEM private key"
    )
    parser.add_argument(
        "--secret", type=Path, default=DEV_KEYS / "qr-shared-secret", help="shared secret (hex)"
    )
    parser.add_argument("--issuer", default="TNM Auth server", help="iss claim")
    parser.add_argument("--ssid", help="the charger's hotspot SSID (wifi block)")
    parser.add_argument("--psk", default="", help="the hotspot password")
    parser.add_argument("--wifi-type", default="wpa2")
    parser.add_argument("--hidden", action="store_true", help="the hotspot is hidden")
    parser.add_argument("--expires-in", type=float, help="seconds until the label expires")
    parser.add_argument("--one-time", action="store_true", help="add a jti: usable once")


def _qr(data: str) -> qrcode.QRCode[Any]:
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(data)
    code.make(fit=True)
    return code


def _write_image(token: str, fmt: str, path: Path) -> None:
    import qrcode.image.pure
    import qrcode.image.svg

    factory = qrcode.image.pure.PyPNGImage if fmt == "png" else qrcode.image.svg.SvgPathImage
    img = _qr(token).make_image(image_factory=factory)
    buf = io.BytesIO()
    img.save(buf)
    path.write_bytes(buf.getvalue())


def _target(args: argparse.Namespace, role: str, several: bool) -> Path:
    out: Path = args.output or Path(".")
    if out.is_dir() or several or args.output is None:
        out.mkdir(parents=True, exist_ok=True)
        return out / f"{args.id}-{role}.{args.format}"
    return out


def _label_problem(args: argparse.Namespace) -> str | None:
    """What makes a label that no charger would ever accept."""
    if not is_ocpp_identity(args.id):
        return f"--id {args.id!r}: not a charge point id ({ID_RULE})"
    if args.expires_in is not None and not (math.isfinite(args.expires_in) and args.expires_in > 0):
        return f"--expires-in {args.expires_in}: must be a positive number of seconds"
    return None


def qr_main(args: argparse.Namespace) -> int:
    from ncpa.api.qr_issue import Wifi, qr_token, read_secret_file

    roles: list[str] = args.role or ["operator", "installer"]
    problem = _label_problem(args)
    if problem:
        print(f"ncpa qr: {problem}", file=sys.stderr)
        return 2
    try:
        key_pem = args.issuer_key.read_bytes()
        secret = read_secret_file(args.secret)
    except (OSError, ValueError) as e:
        hint = "development keys: `make certs` in a checkout; on a charger: --issuer-key, --secret"
        print(f"ncpa qr: {e} ({hint})", file=sys.stderr)
        return 2
    wifi = Wifi(args.ssid, args.psk, args.wifi_type, args.hidden) if args.ssid else None
    for role in roles:
        try:
            token = qr_token(
                key_pem,
                secret,
                args.id,
                role,
                issuer=args.issuer,
                wifi=wifi,
                expires_in=args.expires_in,
                one_time=args.one_time,
            )
        except ValueError as e:
            print(f"ncpa qr: {e}", file=sys.stderr)
            return 2
        if args.format == "token":
            print(token)
        elif args.format == "text":
            print(f"{args.id} {role}: {token}")
            _qr(token).print_ascii(out=sys.stdout, tty=sys.stdout.isatty())
        else:
            path = _target(args, role, len(roles) > 1)
            _write_image(token, args.format, path)
            print(f"{args.id} {role}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ncpa qr", description=__doc__.split("\n\n")[0])
    add_qr_arguments(parser)
    return qr_main(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
