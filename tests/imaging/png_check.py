#!/usr/bin/python3
"""Second opinion on the PNGs tests/imaging/png_encode_test.cpp writes: for every NAME.png in DIR,
checks each chunk's CRC-32, that the IDAT data is exactly one zlib stream (header, deflate, Adler-32,
nothing after it) whose size is rows x (1 + row bytes), then decodes the file with Pillow and
compares its pixels with NAME.raw (the expected rows, RGB(A) order). Prints one line per failure;
exit 1 if any.

    png_check.py DIR
"""
import io, os, struct, sys, zlib
from PIL import Image

CHANNELS = {0: 1, 2: 3, 6: 4}
MODES = {0: "L", 2: "RGB", 6: "RGBA"}


def check(png, raw):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "signature"
    pos, chunks = 8, []
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + data) == crc, f"CRC of {kind!r} chunk at {pos}"
        chunks.append((kind, data))
        pos += 12 + length
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND", kinds[:3]
    assert set(kinds[1:-1]) == {b"IDAT"}, kinds
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and interlace == 0 and colour in CHANNELS, chunks[0][1]
    stream = zlib.decompressobj()
    rows = stream.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    assert stream.eof and not stream.unused_data, "not exactly one zlib stream"
    assert len(rows) == height * (1 + width * CHANNELS[colour]), "filtered size"
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.mode == MODES[colour] and image.size == (width, height), (image.mode, image.size)
    assert image.tobytes() == raw, "Pillow's pixels differ"


failures = 0
folder = sys.argv[1]
names = sorted(n[:-4] for n in os.listdir(folder) if n.endswith(".png"))
for name in names:
    with open(os.path.join(folder, name + ".png"), "rb") as f:
        png = f.read()
    with open(os.path.join(folder, name + ".raw"), "rb") as f:
        raw = f.read()
    try:
        check(png, raw)
    except AssertionError as e:
        failures += 1
        print(f"{name}: {e}")
print(f"{len(names)} files checked, {failures} failed")
sys.exit(1 if failures or not names else 0)
