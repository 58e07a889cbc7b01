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


class _Bits:
    """MSB-first bit writer with JPEG byte stuffing (0xFF is followed by 0x00)."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, bits):
        self.acc = (self.acc << bits) | value
        self.n += bits
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self.acc &= (1 << self.n) - 1

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1 bits
        return bytes(self.out)


def jpeg_many_valid_scans(width, height, scans=500):
    """A mid-grey progressive greyscale JPEG of width x height with `scans` scans, each one valid:
    the DC scan, then for each AC coefficient in turn a first scan at Al=10 and its ten refinement
    scans, every band coded as end-of-band runs (a few bytes per scan whatever the size). Each scan
    makes the decoder walk every block, so the decode costs ~scans x pixels while the file stays
    small; 500 is the most issue 13's scan limit admits."""
    blocks = ((width + 7) // 8) * ((height + 7) // 8)

    def segment(marker, payload):
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    # DC table: one symbol (category 0) with code '0'. AC table: the EOBRUN symbols 0x00..0xE0, each
    # four bits long (codes 0000..1110, so no code is all ones).
    dht_dc = bytes([0x00]) + bytes([1] + [0] * 15) + bytes([0])
    eob_symbols = [r << 4 for r in range(15)]
    dht_ac = bytes([0x10]) + bytes([0, 0, 0, len(eob_symbols)] + [0] * 12) + bytes(eob_symbols)
    head = (b"\xff\xd8" + segment(0xDB, bytes([0]) + bytes([1] * 64)) +
            segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0])) +
            segment(0xC4, dht_dc + dht_ac))

    def sos(ss, se, ah, al):
        return segment(0xDA, bytes([1, 1, 0x00, ss, se, (ah << 4) | al]))

    bits = _Bits()
    for _ in range(blocks):
        bits.put(0, 1)  # every DC difference 0: mid grey
    out = [head, sos(0, 0, 0, 0), bits.flush()]
    plan = []
    for k in range(1, 64):
        plan.append((k, k, 0, 10))
        plan += [(k, k, ah, ah - 1) for ah in range(10, 0, -1)]
    for ss, se, ah, al in plan[:scans - 1]:
        bits = _Bits()
        left = blocks
        while left:
            run = min(left, 32767)
            r = run.bit_length() - 1
            bits.put(r, 4)  # symbol r<<4 has code r (4 bits)
            if r:
                bits.put(run - (1 << r), r)
            left -= run
        out += [sos(ss, se, ah, al), bits.flush()]
    out.append(b"\xff\xd9")
    return b"".join(out)
