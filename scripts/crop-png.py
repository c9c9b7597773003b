#!/usr/bin/env python3
"""Keeps the left WIDTH pixels of a PNG (and the top HEIGHT rows, when given):
crop-png.py IN.png OUT.png WIDTH [HEIGHT].

Headless Chromium will not make a window narrower than 500 px, so scripts/screenshots.sh
renders the 390 px view in an iframe and cuts the screenshot to the iframe's width. PNG row
filters refer only to pixels to the left and above, so cutting every filtered row short keeps
it valid: no decoding of the pixels, only the standard library."""
import struct
import sys
import zlib


def main(source, target, width, keep_rows=None):
    data = open(source, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        chunks.append((kind, data[offset + 8:offset + 8 + length]))
        offset += 12 + length
    header = chunks[0][1]
    old_width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and colour in (2, 6), "8-bit RGB(A), not interlaced"
    channels = 3 if colour == 2 else 4
    width = min(width, old_width)
    height = min(keep_rows or height, height)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + old_width * channels
    rows = (raw[y * stride:y * stride + 1 + width * channels] for y in range(height))
    pixels = zlib.compress(b"".join(rows), 9)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(target, "wb") as out:
        out.write(data[:8] + chunk(b"IHDR", struct.pack(">II", width, height) + header[8:]))
        out.write(chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
