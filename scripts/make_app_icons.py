"""Draw the phone apps' icons (a white house in an orange circle on the platform's blue), as PNG, with no imaging
library: `python scripts/make_app_icons.py` writes backend/web/static/app/icon-{192,512}.png."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "backend" / "web" / "static" / "app"
BLUE, ORANGE, WHITE = (11, 42, 91), (247, 144, 9), (255, 255, 255)


def _inside_house(x: float, y: float) -> bool:
    """The house in unit coordinates (0..1): a roof triangle over a body with a door."""
    if 0.30 <= y <= 0.50 and abs(x - 0.5) <= (y - 0.30) * 1.25:  # roof
        return True
    body = 0.34 <= x <= 0.66 and 0.48 <= y <= 0.72
    door = 0.45 <= x <= 0.55 and 0.58 <= y <= 0.72
    return body and not door


def pixel(x: float, y: float) -> tuple[int, int, int]:
    if _inside_house(x, y):
        return WHITE
    # The circle keeps clear of the edges, so a maskable icon's safe zone (80 %) holds it whole.
    return ORANGE if (x - 0.5) ** 2 + (y - 0.5) ** 2 <= 0.36**2 else BLUE


def encode_png(width: int, height: int, rows: bytes) -> bytes:
    """An RGB PNG of these rows (each a filter byte, then three bytes a pixel)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def icon(size: int) -> bytes:
    rows = bytearray()
    for j in range(size):
        rows.append(0)  # no filter
        for i in range(size):
            rows.extend(pixel((i + 0.5) / size, (j + 0.5) / size))
    return encode_png(size, size, bytes(rows))


if __name__ == "__main__":
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(icon(size))
        print(f"wrote {OUT / f'icon-{size}.png'}")
