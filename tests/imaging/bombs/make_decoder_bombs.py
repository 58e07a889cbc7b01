#!/usr/bin/python3
"""Makes the decoder bombs of issue 14: small files whose headers make a decoder allocate or work
far beyond what their pixels need. Run by CMake at build time into the build tree (nothing binary
is committed); tests/imaging/decoder_bomb_test.cpp decodes each and asserts the answer, and
bench/attack can send them to a server. Each file stands for a kind (see README.md beside this).

  tiff_tile_32768x32752.tif  16x16 grey TIFF declaring one 32768x32752 tile, deflate of zeros
                             (1 MB): OpenCV allocated the tile, +4.1 GB and 23 s before its 400
  tiff_tile_8192.tif         16x16 grey TIFF with one 8192x8192 tile (67 MP): answered 200
  tiff_tiles_ok.tif          48x32 grey TIFF in six deflated 16x16 tiles: must decode
  tiff_tile_pad_ok.tif       16x16 grey TIFF in one 32x32 tile (bigger than the image, legal)
  tiff_tile_no_length.tif    TileWidth without TileLength: malformed
  tiff_strip_rows_huge.tif   16x16 grey TIFF with RowsPerStrip 2^32-1 (clamped to the height)
  jpeg_scan_headers.jpg      progressive JPEG whose first scan header repeats 20,000 times with
                             no data between (280 KB): ~2.5 ms of decode per scan, 50 s
  jpeg_scans_repeated.jpg    progressive JPEG whose first scan (header and data, at full
                             precision) repeats 1,000 times: every repeat is consistent, so
                             only a scan limit stops it
  jpeg_truncated_50mp.jpg    a 629-byte baseline JPEG: a 50 MP frame header, cut 8 bytes into its
                             scan data: forced a full 50 MP decode (+576 MB)
  jpeg_truncated_50mp_progressive.jpg  the same as a progressive frame
"""
import argparse
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

# --- TIFF, written by hand (PIL cannot declare a tile bigger than the image) ---------------------

SHORT, LONG = 3, 4


def tiff(entries, data, data_offset_tags):
    """A little-endian TIFF: header, IFD0 from `entries` [(tag, type, values)], then `data` (the
    chunks, concatenated). Tags in `data_offset_tags` get the offsets of the chunks in `data`."""
    entries = sorted(entries)
    ifd_size = 2 + 12 * len(entries) + 4
    extra = b""
    body_at = 8 + ifd_size
    # Arrays that do not fit the value field go after the IFD, data after them.
    resolved = []
    arrays_at = body_at
    array_blobs = []
    for tag, kind, values in entries:
        size = (2 if kind == SHORT else 4) * len(values)
        if size > 4:
            array_blobs.append((tag, kind, values))
            arrays_at += size
    data_at = arrays_at
    offset = body_at
    blobs = b""
    for tag, kind, values in entries:
        if tag in data_offset_tags:
            values = [data_at + v for v in values]
        raw = b"".join(struct.pack("<H" if kind == SHORT else "<I", v) for v in values)
        if len(raw) > 4:
            resolved.append(struct.pack("<HHII", tag, kind, len(values), offset))
            blobs += raw
            offset += len(raw)
        else:
            resolved.append(struct.pack("<HHI", tag, kind, len(values)) + raw.ljust(4, b"\0"))
    ifd = struct.pack("<H", len(entries)) + b"".join(resolved) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + blobs + data


def deflate_zeros(count):
    z = zlib.compressobj(9)
    out = []
    chunk = bytes(16 << 20)
    left = count
    while left > 0:
        n = min(left, len(chunk))
        out.append(z.compress(chunk[:n]))
        left -= n
    out.append(z.flush())
    return b"".join(out)


def grey_tiff_tiled(width, height, tile_w, tile_h, tiles, compression=1):
    """`tiles`: the encoded bytes of each tile, in order."""
    offsets, at = [], 0
    for t in tiles:
        offsets.append(at)
        at += len(t)
    entries = [(256, LONG, [width]), (257, LONG, [height]), (258, SHORT, [8]),
               (259, SHORT, [compression]), (262, SHORT, [1]), (277, SHORT, [1]), (284, SHORT, [1]),
               (322, LONG, [tile_w]), (323, LONG, [tile_h]), (324, LONG, offsets),
               (325, LONG, [len(t) for t in tiles])]
    return tiff(entries, b"".join(tiles), {324})


def grey_tiff_strips(width, height, rows_per_strip, pixels):
    entries = [(256, LONG, [width]), (257, LONG, [height]), (258, SHORT, [8]), (259, SHORT, [1]),
               (262, SHORT, [1]), (273, LONG, [0]), (277, SHORT, [1]), (278, LONG, [rows_per_strip]),
               (279, LONG, [len(pixels)]), (284, SHORT, [1])]
    return tiff(entries, pixels, {273})


def gradient(width, height):
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 7 + y * 3) % 256).astype(np.uint8)


def tiles_of(pixels, tile_w, tile_h):
    h, w = pixels.shape
    out = []
    for ty in range(0, h, tile_h):
        for tx in range(0, w, tile_w):
            tile = np.zeros((tile_h, tile_w), np.uint8)
            part = pixels[ty:ty + tile_h, tx:tx + tile_w]
            tile[:part.shape[0], :part.shape[1]] = part
            out.append(tile.tobytes())
    return out


# --- JPEG ----------------------------------------------------------------------------------------

def segments(jpeg):
    """(marker, start, end) of every segment up to and including the first SOS header; then the
    entropy-coded data runs to the next marker that is not RST or a stuffed 0xFF00."""
    out, at = [], 2
    while at < len(jpeg):
        assert jpeg[at] == 0xFF
        marker = jpeg[at + 1]
        length = struct.unpack(">H", jpeg[at + 2:at + 4])[0]
        out.append((marker, at, at + 2 + length))
        at += 2 + length
        if marker == 0xDA:
            break
    return out


def scan_data_end(jpeg, start):
    at = start
    while True:
        at = jpeg.index(b"\xff", at)
        nxt = jpeg[at + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            at += 2
            continue
        return at


def picture(width, height):
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                    (x + y) % 256], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def jpeg_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def with_frame_size(jpeg, width, height):
    """The JPEG with its SOF's height and width replaced."""
    for marker, start, _ in segments(jpeg):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            at = start + 5  # FF Cx, length (2), precision (1)
            return jpeg[:at] + struct.pack(">HH", height, width) + jpeg[at + 4:]
    raise ValueError("no SOF")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    # TIFF tiles and strips.
    write("tiff_tile_32768x32752.tif",
          grey_tiff_tiled(16, 16, 32768, 32752, [deflate_zeros(32768 * 32752)], compression=8))
    write("tiff_tile_8192.tif", grey_tiff_tiled(16, 16, 8192, 8192, [deflate_zeros(8192 * 8192)], compression=8))
    # Deflate, as real tiled files are: OpenCV 4.6 with libtiff 4.5 refuses this very file with
    # uncompressed tiles ("Invalid tile byte count"), before and after issue 14 alike.
    write("tiff_tiles_ok.tif", grey_tiff_tiled(48, 32, 16, 16, [zlib.compress(t) for t in tiles_of(gradient(48, 32), 16, 16)],
                                               compression=8))
    write("tiff_tile_pad_ok.tif", grey_tiff_tiled(16, 16, 32, 32, tiles_of(gradient(16, 16), 32, 32)))
    no_length = grey_tiff_tiled(16, 16, 16, 16, tiles_of(gradient(16, 16), 16, 16))
    write("tiff_tile_no_length.tif", no_length.replace(struct.pack("<HHI", 323, LONG, 1),
                                                       struct.pack("<HHI", 999, LONG, 1), 1))
    write("tiff_strip_rows_huge.tif", grey_tiff_strips(16, 16, 0xFFFFFFFF, gradient(16, 16).tobytes()))

    # Progressive JPEG: the first scan's header repeated with no data, 20,000 times.
    progressive = jpeg_bytes(picture(1024, 1024), progressive=True)
    segs = segments(progressive)
    _, sos_start, sos_end = segs[-1]
    header = progressive[sos_start:sos_end]
    write("jpeg_scan_headers.jpg", progressive[:sos_start] + header * 20000 + progressive[sos_start:])

    # The first scan whole (header and data) repeated. Its successive approximation byte (the
    # header's last) is set to Ah=0 Al=0, full precision: libjpeg expects Ah to equal the previous
    # scan's Al for the same coefficients, so with Al=0 every repeat is consistent and raises no
    # warning: only a scan limit stops it.
    small = jpeg_bytes(picture(256, 256), progressive=True)
    segs = segments(small)
    _, sos_start, sos_end = segs[-1]
    data_end = scan_data_end(small, sos_end)
    first_scan = small[sos_start:sos_end - 1] + b"\x00" + small[sos_end:data_end]
    write("jpeg_scans_repeated.jpg", small[:sos_start] + first_scan * 1000 + small[sos_start:])

    # A 50 MP frame header cut 8 bytes into the scan data.
    for name, kw in (("jpeg_truncated_50mp.jpg", {}), ("jpeg_truncated_50mp_progressive.jpg", {"progressive": True})):
        tiny = with_frame_size(jpeg_bytes(picture(16, 16), **kw), 8000, 6250)
        cut = segments(tiny)[-1][2] + 8
        write(name, tiny[:cut])
    print(f"made decoder bombs in {out}")


if __name__ == "__main__":
    main()
