"""The hostile bytes, made on the fly (nothing binary is committed): each builder returns what a
client would send, small to send and costly to take in."""
import io
import struct
import zlib

from PIL import Image


def gzip_of_zeros(inflated_bytes):
    """A gzip member that inflates to inflated_bytes zero bytes (about 1/1000 of that on the wire)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    block = bytes(1 << 20)
    out = []
    left = inflated_bytes
    while left > 0:
        n = min(left, len(block))
        out.append(comp.compress(block[:n]))
        left -= n
    out.append(comp.flush())
    return b"".join(out)


def png(width, height, noise=False):
    """An RGB PNG: noise (incompressible, so its cut-out is large) or a gradient."""
    if noise:
        import os
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def jpeg(width, height, progressive=False, quality=85):
    """A smooth RGB JPEG (small on the wire at any size)."""
    g = Image.linear_gradient("L").resize((width, height))
    img = Image.merge("RGB", (g, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT), g.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, progressive=progressive)
    return buf.getvalue()


def _segments(data):
    """(offset, marker, segment length incl. marker) of each JPEG marker segment up to the first SOS."""
    out = []
    i = 2
    while i + 4 <= len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((i, marker, length + 2))
        if marker == 0xDA:
            break
        i += length + 2
    return out


def jpeg_scan_flood(width, height, scans):
    """A progressive JPEG whose first scan header (SOS) is repeated `scans` times with no entropy
    data between them, then EOI: each empty scan makes libjpeg pass over the whole coefficient
    buffer."""
    data = jpeg(width, height, progressive=True)
    off, marker, length = _segments(data)[-1]
    assert marker == 0xDA
    head, sos = data[:off], data[off:off + length]
    return head + sos * scans + b"\xff\xd9"


def jpeg_truncated_header(width, height):
    """A baseline JPEG's header (tables, SOF, SOS) declaring width x height, cut right after SOS:
    a few hundred bytes that claim a whole picture."""
    data = jpeg(16, 16)
    segs = _segments(data)
    out = bytearray(data[:segs[-1][0] + segs[-1][2]])
    for off, marker, _ in segs:
        if marker in (0xC0, 0xC2):
            struct.pack_into(">HH", out, off + 5, height, width)
    return bytes(out)


def tiff_tile_bomb(tile_w, tile_h, width=16, height=16):
    """A width x height RGB TIFF whose one tile is declared tile_w x tile_h, deflate-compressed
    zeros: a reader that sizes its buffer from the tile allocates tile_w * tile_h * 4 bytes for a
    16x16 picture."""
    comp = zlib.compressobj(9)
    row = bytes(tile_w * 3)
    parts = []
    chunk_rows = max(1, (1 << 22) // len(row))
    left = tile_h
    while left > 0:
        n = min(left, chunk_rows)
        parts.append(comp.compress(row * n))
        left -= n
    parts.append(comp.flush())
    tile = b"".join(parts)
    # Little-endian TIFF: header, the tile data, then IFD0 with its tags in ascending order.
    entries = [
        (256, 4, 1, width),        # ImageWidth
        (257, 4, 1, height),       # ImageLength
        (258, 3, 1, 8),            # BitsPerSample (8 for every sample)
        (259, 3, 1, 8),            # Compression: deflate
        (262, 3, 1, 2),            # Photometric: RGB
        (277, 3, 1, 3),            # SamplesPerPixel
        (284, 3, 1, 1),            # PlanarConfiguration: contiguous
        (322, 4, 1, tile_w),       # TileWidth
        (323, 4, 1, tile_h),       # TileLength
        (324, 4, 1, 8),            # TileOffsets: right after the header
        (325, 4, 1, len(tile)),    # TileByteCounts
    ]
    ifd_offset = 8 + len(tile) + (len(tile) & 1)
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    out += tile + (b"\x00" if len(tile) & 1 else b"")
    out += struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if typ == 3:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    out += struct.pack("<I", 0)
    return bytes(out)


def empty_parts_multipart(boundary, parts):
    """Pieces of a multipart body of `parts` empty parts (no headers, no content), then a real
    closing delimiter: what the million-empty-parts attack sent, as an iterable of byte strings."""
    one = f"--{boundary}\r\n\r\n\r\n".encode()
    per_piece = 4096
    left = parts
    while left > 0:
        n = min(left, per_piece)
        yield one * n
        left -= n
    yield f"--{boundary}--\r\n".encode()


def chunked(pieces):
    """HTTP/1.1 chunked transfer coding of the byte strings in pieces."""
    for piece in pieces:
        if piece:
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"
