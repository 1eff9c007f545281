"""A QR label in front of Chromium's fake camera: a YUV4MPEG2 file (what
--use-file-for-fake-video-capture plays) showing the label's QR code."""

from __future__ import annotations

from pathlib import Path

import qrcode

W, H = 640, 480


def label_video(token: str, path: Path) -> Path:
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(token)
    qr.make(fit=True)
    matrix = qr.get_matrix()  # rows of booleans, the quiet zone included
    scale = min(W, H) * 9 // 10 // len(matrix)
    side = scale * len(matrix)
    x0, y0 = (W - side) // 2, (H - side) // 2
    luma = bytearray([200]) * (W * H)  # a grey wall around the label
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            value = 16 if dark else 235
            for dy in range(scale):
                start = (y0 + r * scale + dy) * W + x0 + c * scale
                luma[start : start + scale] = bytes([value]) * scale
    chroma = bytes([128]) * (W * H // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 3)
    return path
