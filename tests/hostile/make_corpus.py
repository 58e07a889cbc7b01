#!/usr/bin/python3
"""Makes the hostile-input corpus: raw HTTP requests and the exact answer each must get.

Run by CMake at build time into the build tree (nothing binary is committed). Every case is the
exact bytes a client sends (request line, headers, body, possibly less body than announced) and
the expected status and error type; 200 cases also give the result's expected size. The corpus
is made for a server started with the limits written in cases.json ("server").

Images are made here with PIL and numpy (16-bit colour PNGs, which PIL cannot write, by hand); the malformed ones are built or patched by hand.
"""
import argparse
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

# The limits the test server runs with (small, so over-limit cases stay small files).
MAX_BODY = 2 * 1024 * 1024
MAX_PIXELS = 4_000_000
BOUNDARY = "cutoutcorpusboundary7"


# --- pictures -----------------------------------------------------------------------------------

def picture(w, h, seed=0):
    """A deterministic RGB picture: gradients plus a red block (the tiny model's foreground)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
                    np.full_like(x, 128)], axis=-1).astype(np.uint8)
    img[h // 4: 3 * h // 4 + 1, w // 4: 3 * w // 4 + 1] = (220, 30, 30)
    noise = rng.integers(0, 8, size=img.shape, dtype=np.uint8)
    return Image.fromarray(img + noise, "RGB")


def save(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_from_array(pixels):
    """A PNG written by hand from an HxWxC uint8 or uint16 array (C = 1, 3 or 4), no filtering."""
    h, w, c = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    colour = {1: 0, 3: 2, 4: 6}[c]
    rows = pixels.astype(">u2" if depth == 16 else np.uint8).reshape(h, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)) +
            png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def png_claiming(width, height):
    """A PNG whose IHDR claims width x height, with one tiny IDAT: decoding would allocate it all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    """A real small JPEG with its SOF0 width and height patched."""
    data = bytearray(save(picture(16, 16), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_vp8x_claiming(width, height):
    """An extended WebP header (VP8X) whose canvas is width x height; no image data follows."""
    vp8x = bytes([0, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiff_claiming(width, height):
    """A little-endian TIFF whose IFD0 claims width x height (LONG values), 8-bit gray strips."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height),
               (279, 4, 1, width * height & 0xFFFFFFFF)]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value) if kind == 4 else \
            struct.pack("<HHIHH", tag, kind, count, value, 0)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8 + 64) + b"\x00" * 64 + ifd


def bmp_claiming(width, height):
    """A BMP (BITMAPINFOHEADER, 24-bit) claiming width x height with a few bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    pixels = b"\x00" * 64
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


def exif_tiff(orientation=None, entries=None, next_ifd=0, big_endian=True):
    """A TIFF block for an EXIF APP1: IFD0 with Orientation, or raw (tag, type, count, value) entries."""
    e = ">" if big_endian else "<"
    if entries is None:
        entries = [(0x0112, 3, 1, orientation)]
    ifd = struct.pack(e + "H", len(entries))
    for tag, kind, count, value in entries:
        if kind == 3:
            ifd += struct.pack(e + "HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack(e + "HHII", tag, kind, count, value)
    ifd += struct.pack(e + "I", next_ifd)
    return (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8) + ifd


def jpeg_with_segments(jpeg, segments):
    """Inserts raw marker segments (marker byte, payload) right after SOI."""
    out = jpeg[:2]
    for marker, payload in segments:
        out += bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return out + jpeg[2:]


# --- requests -----------------------------------------------------------------------------------

def raw_request(body, content_type=None, query="", method="POST", path="/remove-background",
                extra_headers=(), declared_length=None, send_body=True):
    head = [f"{method} {path}{query} HTTP/1.1", "Host: cutout-test", "Connection: close"]
    if content_type is not None:
        head.append(f"Content-Type: {content_type}")
    if method == "POST" or body:
        head.append(f"Content-Length: {len(body) if declared_length is None else declared_length}")
    head.extend(extra_headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body if send_body else b"")


def multipart_body(parts, boundary=BOUNDARY, close=True):
    """parts: (name, filename or None, content type or None, bytes)."""
    out = b""
    for name, filename, ctype, data in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if ctype is not None:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return out


def multipart_request(parts, query="", header_boundary=BOUNDARY, body_boundary=BOUNDARY, close=True,
                      content_type=None):
    ctype = content_type if content_type is not None else f"multipart/form-data; boundary={header_boundary}"
    return raw_request(multipart_body(parts, body_boundary, close), ctype, query)


def chunked_request(body, content_type, chunk=65536, finish=True):
    head = ("POST /remove-background HTTP/1.1\r\nHost: cutout-test\r\nConnection: close\r\n"
            f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    out = head
    for i in range(0, len(body), chunk):
        piece = body[i:i + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + (b"0\r\n\r\n" if finish else b"")


# --- the corpus ---------------------------------------------------------------------------------

def build_cases():
    cases = []

    def ok(name, request, width, height, why, channels=4):
        cases.append(dict(name=name, request=request, status=200, type=None, width=width,
                          height=height, channels=channels, why=why))

    def err(name, request, status, kind, why):
        cases.append(dict(name=name, request=request, status=status, type=kind, why=why))

    def image_part(data, ctype="image/png", name="image"):
        return (name, "upload.bin", ctype, data)

    pic = picture(40, 24)
    png = save(pic, "PNG")
    jpeg = save(pic, "JPEG", quality=90)
    webp = save(pic, "WEBP", quality=80)
    gray = pic.convert("L")

    # Transport and multipart.
    err("empty_raw_body", raw_request(b"", "image/png"), 400, "missing_image", "no bytes at all")
    err("multipart_zero_length_part", multipart_request([image_part(b"")]), 400, "missing_image",
        "the image part is present but empty")
    err("multipart_missing_image_part", multipart_request([("format", None, None, b"png")]), 400,
        "missing_image", "only a form field, no image part")
    err("multipart_empty_body", raw_request(b"", f"multipart/form-data; boundary={BOUNDARY}"), 400,
        "invalid_multipart", "multipart content type with an empty body: not valid multipart")
    err("multipart_unexpected_file_part", multipart_request([("photo", "a.png", "image/png", png)]), 400,
        "unknown_parameter", "a file part with another name")
    err("multipart_broken_boundary",
        multipart_request([image_part(png)], header_boundary="declaredboundary", body_boundary="otherboundary"),
        400, "invalid_multipart", "the body's boundary is not the declared one")
    err("multipart_no_boundary", multipart_request([image_part(png)], content_type="multipart/form-data"),
        400, "invalid_multipart", "multipart content type without a boundary parameter")
    err("multipart_unterminated", multipart_request([image_part(png)], close=False), 400, "invalid_multipart",
        "the closing boundary never comes")
    err("multipart_garbage", raw_request(os.urandom(0) + b"\x00\xff" * 500,
                                         f"multipart/form-data; boundary={BOUNDARY}"),
        400, "invalid_multipart", "binary garbage under a multipart content type")

    # Multipart as RFC 2046/7578 allow it and real clients send it (issue 13).
    def framed(parts_bytes, boundary=BOUNDARY, preamble=b"", close=b"--\r\n", padding=b""):
        out = preamble
        for headers, data in parts_bytes:
            out += b"--" + boundary.encode() + padding + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"
        return out + b"--" + boundary.encode() + close
    image_disposition = b'Content-Disposition: form-data; name="image"; filename="a.png"'
    ok("multipart_quoted_boundary",
       raw_request(framed([(image_disposition, png)]), f'multipart/form-data; boundary="{BOUNDARY}"'), 40, 24,
       "boundary quoted in the Content-Type, as .NET's HttpClient sends it")
    ok("multipart_dotnet_unquoted_parameters",
       raw_request(framed([(b"Content-Type: image/png\r\nContent-Disposition: form-data; name=image; "
                            b"filename=a.png; filename*=utf-8''a.png", png)]),
                   f'multipart/form-data; boundary="{BOUNDARY}"'), 40, 24,
       "unquoted name and filename, then filename* (RFC 7578/8187), Content-Type first")
    ok("multipart_parameters_any_order_and_case",
       raw_request(framed([(b"content-disposition: Form-Data ; FILENAME = \"a.png\" ;name=image; size=1", png)]),
                   f"Multipart/Form-Data; charset=utf-8; Boundary={BOUNDARY}"), 40, 24,
       "filename before name, an extra parameter, spaces around ';' and '=', names in any case")
    ok("multipart_transport_padding",
       raw_request(framed([(image_disposition, png)], padding=b" \t  "), f"multipart/form-data; boundary={BOUNDARY}"),
       40, 24, "whitespace after each boundary line (RFC 2046 transport padding)")
    ok("multipart_no_final_crlf",
       raw_request(framed([(image_disposition, png)], close=b"--"), f"multipart/form-data; boundary={BOUNDARY}"),
       40, 24, "the body ends right after the closing '--', as some fetch clients send it")
    ok("multipart_preamble_and_epilogue",
       raw_request(framed([(image_disposition, png)], preamble=b"This is a preamble.\r\n",
                          close=b"--\r\nand an epilogue\r\n"), f"multipart/form-data; boundary={BOUNDARY}"),
       40, 24, "text before the first and after the last boundary line is ignored")
    ok("multipart_lowercase_header_name",
       multipart_request([image_part(png)]).replace(b"Content-Type:", b"content-type:", 1), 40, 24,
       "the request's header name in lower case (field names are case-insensitive)")
    ok("multipart_chunked", chunked_request(multipart_body([image_part(png)]), f"multipart/form-data; boundary={BOUNDARY}",
                                            chunk=100), 40, 24, "a multipart body sent chunked in 100-byte pieces")
    empty_part = b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n"
    many = empty_part * ((MAX_BODY - 4096) // len(empty_part))
    err("multipart_many_empty_parts", raw_request(many + b"--" + BOUNDARY.encode() + b"--",
                                                   f"multipart/form-data; boundary={BOUNDARY}"),
        400, "invalid_multipart", f"{len(many) // len(empty_part)} empty parts within the body limit: refused at "
        "part 65, the rest unread (a million-empty-parts body scaled to the limit)")
    err("multipart_header_block_too_long",
        raw_request(framed([(b'Content-Disposition: form-data; name="image"; filename="' + b"a" * 20000 + b'"', png)]),
                    f"multipart/form-data; boundary={BOUNDARY}"),
        400, "invalid_multipart", "a 20 KB part header block (limit 8 KiB)")
    err("multipart_padding_too_long",
        raw_request(framed([(image_disposition, png)], padding=b" " * 20000), f"multipart/form-data; boundary={BOUNDARY}"),
        400, "invalid_multipart", "20 KB of transport padding after a boundary line")
    err("multipart_no_content_disposition",
        raw_request(framed([(b"Content-Type: image/png", png)]), f"multipart/form-data; boundary={BOUNDARY}"),
        400, "invalid_multipart", "a part without Content-Disposition (RFC 7578 4.2)")
    err("multipart_base64_part",
        raw_request(framed([(image_disposition + b"\r\nContent-Transfer-Encoding: base64",
                             __import__("base64").b64encode(png))]), f"multipart/form-data; boundary={BOUNDARY}"),
        400, "invalid_multipart", "a base64 part (RFC 7578 4.7: not to be sent)")
    err("multipart_boundary_too_long",
        multipart_request([image_part(png)], header_boundary="b" * 71, body_boundary="b" * 71),
        400, "invalid_multipart", "a 71-character boundary (RFC 2046: 1 to 70)")
    err("multipart_mixed", multipart_request([image_part(png)],
                                             content_type=f"multipart/mixed; boundary={BOUNDARY}"),
        415, "unsupported_media_type", "multipart/mixed is not a form upload")

    # Raw bodies: none or a generic declared type is judged by the bytes; other explicit types 415.
    ok("raw_wrong_content_type", raw_request(png, "text/plain"), 40, 24,
       "a PNG sent as text/plain (a generic type): the bytes decide")
    ok("raw_missing_content_type", raw_request(png, None), 40, 24, "a PNG without any Content-Type")
    ok("raw_png_form_urlencoded", raw_request(png, "application/x-www-form-urlencoded"), 40, 24,
       "a PNG with curl --data-binary's default type: the bytes decide")
    err("raw_form_urlencoded", raw_request(b"image=abc", "application/x-www-form-urlencoded"), 415,
        "unsupported_media_type", "a form post, not an upload: judged by the bytes, not an image")
    err("raw_json_content_type", raw_request(png, "application/json"), 415, "unsupported_media_type",
        "a PNG declared as JSON: an explicit non-image type is refused")
    ok("raw_lying_content_type", raw_request(png, "image/jpeg"), 40, 24,
       "a PNG declared as JPEG: the bytes decide")
    ok("raw_octet_stream", raw_request(jpeg, "application/octet-stream"), 40, 24, "octet-stream upload")
    ok("multipart_lying_part_type", multipart_request([image_part(jpeg, "text/plain")]), 40, 24,
       "a JPEG part declared as text/plain: the bytes decide")
    ok("multipart_file_part_name", multipart_request([image_part(png, name="file")]), 40, 24,
       "part named 'file' is accepted too")

    # Truncated files: header cut (unreadable size) and body cut (decoder runs out of data).
    for fmt, data, ctype in (("jpeg", jpeg, "image/jpeg"), ("png", png, "image/png"), ("webp", webp, "image/webp")):
        err(f"{fmt}_truncated_header", raw_request(data[:12], ctype), 400, "invalid_image",
            "cut inside the header")
        err(f"{fmt}_truncated_half", raw_request(data[: len(data) // 2], ctype), 400, "invalid_image",
            "cut in the middle of the pixel data")
    err("jpeg_soi_only", raw_request(b"\xff\xd8\xff", "image/jpeg"), 400, "invalid_image", "only the magic bytes")
    err("png_bad_crc", raw_request(png[:29] + bytes([png[29] ^ 0xFF]) + png[30:], "image/png"), 400,
        "invalid_image", "IHDR CRC broken")
    err("bmp_truncated_header", raw_request(save(pic, "BMP")[:20], "image/bmp"), 400, "invalid_image",
        "BMP cut inside the DIB header")
    err("tiff_truncated_header", raw_request(save(pic, "TIFF")[:8], "image/tiff"), 400, "invalid_image",
        "TIFF header whose IFD offset points past the end")

    # Truncated or corrupt pixel data (issue 13): never pixels the file did not contain, always 400.
    # The two reported inputs are kept as they were (tests/imaging/cases/).
    err("case_c09_jpeg_header_only", raw_request(read_case("c09_jpeg_header_only.jpg"), "image/jpeg"), 400,
        "invalid_image", "480x800 JPEG cut a few bytes into its scan: once answered uninitialised memory")
    big_jpeg = save(picture(160, 120), "JPEG", quality=90)
    scan = big_jpeg.index(b"\xff\xda")
    err("jpeg_header_and_few_scan_bytes", raw_request(big_jpeg[:scan + 30], "image/jpeg"), 400, "invalid_image",
        "the header and a few bytes of scan data")
    err("jpeg_missing_last_rows", raw_request(big_jpeg[:-60], "image/jpeg"), 400, "invalid_image",
        "baseline JPEG cut near the end: once answered with its last decoded row smeared down")
    prog = save(picture(160, 120), "JPEG", quality=90, progressive=True)
    err("jpeg_progressive_missing_scans", raw_request(prog[: len(prog) * 3 // 4], "image/jpeg"), 400,
        "invalid_image", "progressive JPEG without its last refinement scans")
    middle = scan + (len(big_jpeg) - scan) // 2
    err("jpeg_marker_inside_scan", raw_request(big_jpeg[:middle] + b"\xff\xd9" + big_jpeg[middle + 2:], "image/jpeg"),
        400, "invalid_image", "EOI in the middle of the entropy-coded data (premature end of data segment)")
    ok("jpeg_extraneous_bytes_before_eoi", raw_request(big_jpeg[:-2] + b"\x12\x34\x56\xff\xd9", "image/jpeg"),
       160, 120, "stray bytes after the last pixel, as some cameras write: every pixel is there")
    ok("jpeg_bogus_icc_marker",
       raw_request(jpeg_with_segments(jpeg, [(0xE2, b"ICC_PROFILE\x00\x00\x00" + b"\x00" * 40)]), "image/jpeg"),
       40, 24, "an APP2 ICC_PROFILE segment numbered 0 of 0 (libjpeg: bad ICC marker): metadata only")
    big_png = save(picture(160, 120), "PNG")
    err("png_cut_in_idat", raw_request(big_png[:-20], "image/png"), 400, "invalid_image",
        "PNG cut inside its last IDAT chunk")
    rows = b"".join(b"\x00" + bytes(np.asarray(picture(40, 24))[y].tobytes()) for y in range(12))
    short_png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 24, 8, 2, 0, 0, 0)) +
                 png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))
    err("png_idat_has_half_the_rows", raw_request(short_png, "image/png"), 400, "invalid_image",
        "a well-formed PNG whose zlib stream ends after 12 of 24 rows (libpng: not enough image data)")
    big_webp = save(picture(160, 120), "WEBP", quality=80)
    err("webp_cut_near_end", raw_request(big_webp[:-40], "image/webp"), 400, "invalid_image",
        "lossy WebP missing its last bytes")
    lossless_webp = save(picture(160, 120), "WEBP", lossless=True)
    err("webp_lossless_cut", raw_request(lossless_webp[: len(lossless_webp) * 2 // 3], "image/webp"), 400,
        "invalid_image", "lossless WebP cut two thirds in")
    tiff = save(picture(160, 120), "TIFF")  # PIL writes the IFD first, then the strip
    err("tiff_cut_in_strip", raw_request(tiff[:-500], "image/tiff"), 400, "invalid_image",
        "TIFF whose strip runs past the end of the file")
    bmp = save(picture(160, 120), "BMP")
    err("bmp_missing_rows", raw_request(bmp[:-1000], "image/bmp"), 400, "invalid_image",
        "BMP missing its last rows")

    # Colour profiles (issue 13): converted to sRGB, so they decode; unusable ones are ignored.
    c22 = read_case("c22_display_p3.jpg")
    ok("case_c22_display_p3", raw_request(c22, "image/jpeg"), 96, 160, "a Display P3 JPEG (converted to sRGB)")
    p3 = Image.open(io.BytesIO(c22)).info["icc_profile"]
    ok("png_display_p3", raw_request(save(pic, "PNG", icc_profile=p3), "image/png"), 40, 24, "iCCP Display P3")
    ok("webp_display_p3", raw_request(save(pic, "WEBP", lossless=True, icc_profile=p3), "image/webp"), 40, 24,
       "ICCP Display P3 (VP8X)")
    ok("tiff_display_p3", raw_request(save(pic, "TIFF", tiffinfo={34675: p3}), "image/tiff"), 40, 24,
       "TIFF tag 34675 Display P3")
    ok("jpeg_icc_garbage", raw_request(save(pic, "JPEG", icc_profile=b"\xab" * 3000), "image/jpeg"), 40, 24,
       "an ICC_PROFILE that lcms2 cannot read: ignored (pixels taken as sRGB)")
    ok("jpeg_cmyk_with_rgb_profile", raw_request(save(pic.convert("CMYK"), "JPEG", icc_profile=p3), "image/jpeg"),
       40, 24, "a CMYK JPEG carrying an RGB profile: the profile is ignored")

    # Sizes: headers that claim more pixels than the limit get 413 before any decoding.
    err("png_header_50000x50000", raw_request(png_claiming(50000, 50000), "image/png"), 413,
        "image_too_large", "IHDR claims 2.5 Gpx; decoding would allocate 7.5 GB")
    err("png_header_max_u31", raw_request(png_claiming(2**31 - 1, 2**31 - 1), "image/png"), 413,
        "image_too_large", "the largest size PNG allows")
    err("png_header_zero_width", raw_request(png_claiming(0, 100), "image/png"), 400, "invalid_image",
        "zero width is malformed")
    err("jpeg_sof_65000x65000", raw_request(jpeg_claiming(65000, 65000), "image/jpeg"), 413,
        "image_too_large", "SOF0 claims 4.2 Gpx")
    err("webp_vp8x_16384x16384", raw_request(webp_vp8x_claiming(16384, 16384), "image/webp"), 413,
        "image_too_large", "VP8X canvas claims 268 Mpx")
    err("tiff_ifd_100000x100000", raw_request(tiff_claiming(100000, 100000), "image/tiff"), 413,
        "image_too_large", "IFD0 claims 10 Gpx")
    err("bmp_header_30000x30000", raw_request(bmp_claiming(30000, 30000), "image/bmp"), 413,
        "image_too_large", "BITMAPINFOHEADER claims 900 Mpx")
    bomb = save(Image.new("L", (3000, 3000), 0), "PNG", optimize=True)
    err("png_decompression_bomb", raw_request(bomb, "image/png"), 413, "image_too_large",
        f"a real 3000x3000 PNG of {len(bomb)} bytes (9 Mpx over the 4 Mpx limit)")
    ok("png_1x20000", raw_request(save(picture(1, 20000), "PNG"), "image/png"), 1, 20000,
       "extreme aspect ratio, tall")
    ok("png_20000x1", raw_request(save(picture(20000, 1), "PNG"), "image/png"), 20000, 1,
       "extreme aspect ratio, wide")
    ok("png_1x1", raw_request(save(picture(1, 1), "PNG"), "image/png"), 1, 1, "a single pixel")
    ok("jpeg_1x1", raw_request(save(picture(1, 1), "JPEG"), "image/jpeg"), 1, 1, "a single-pixel JPEG")
    ok("png_at_pixel_limit", raw_request(save(Image.new("RGB", (2000, 2000), (200, 0, 0)), "PNG"),
                                         "image/png"), 2000, 2000, "exactly the pixel limit")

    # Pixel formats.
    rgb16 = np.asarray(pic).astype(np.uint16) * 257
    ok("png_16bit_rgb", raw_request(png_from_array(rgb16), "image/png"), 40, 24,
       "16 bits per channel")
    ok("png_16bit_gray", raw_request(save(Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "PNG"),
                                     "image/png"), 40, 24, "16-bit grayscale")
    rgba16 = np.dstack([rgb16, np.full(rgb16.shape[:2], 40000, np.uint16)])
    ok("png_16bit_rgba", raw_request(png_from_array(rgba16), "image/png"), 40, 24,
       "16-bit with alpha")
    ok("png_gray", raw_request(save(gray, "PNG"), "image/png"), 40, 24, "8-bit grayscale")
    ok("png_gray_alpha", raw_request(save(pic.convert("LA"), "PNG"), "image/png"), 40, 24, "gray + alpha")
    ok("png_rgba", raw_request(save(pic.convert("RGBA"), "PNG"), "image/png"), 40, 24, "RGBA")
    ok("png_1bit", raw_request(save(pic.convert("1"), "PNG"), "image/png"), 40, 24, "1-bit black and white")
    ok("jpeg_gray", raw_request(save(gray, "JPEG"), "image/jpeg"), 40, 24, "grayscale JPEG")
    ok("jpeg_cmyk", raw_request(save(pic.convert("CMYK"), "JPEG"), "image/jpeg"), 40, 24, "Adobe CMYK JPEG")
    ok("jpeg_progressive", raw_request(save(pic, "JPEG", progressive=True), "image/jpeg"), 40, 24,
       "progressive JPEG")
    ok("png_palette", raw_request(save(pic.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG"),
                                  "image/png"), 40, 24, "palette PNG")
    pal = pic.convert("P", palette=Image.ADAPTIVE, colors=16)
    ok("png_palette_trns", raw_request(save(pal, "PNG", transparency=0), "image/png"), 40, 24,
       "palette PNG with a tRNS transparent index")
    ok("png_handwritten_8bit", raw_request(png_from_array(np.asarray(pic)), "image/png"), 40, 24,
       "unfiltered PNG written by hand")
    ok("webp_lossless_alpha", raw_request(save(pic.convert("RGBA"), "WEBP", lossless=True), "image/webp"),
       40, 24, "lossless WebP with alpha")
    ok("bmp_top_down", raw_request(bmp_top_down(pic), "image/bmp"), 40, 24, "BMP stored top-down")
    ok("tiff_rgb", raw_request(save(pic, "TIFF"), "image/tiff"), 40, 24, "plain TIFF")

    # EXIF orientation: 5..8 swap width and height.
    for o in range(1, 9):
        data = save(pic, "JPEG", exif=b"Exif\x00\x00" + exif_tiff(o))
        w, h = (24, 40) if o >= 5 else (40, 24)
        ok(f"jpeg_exif_orientation_{o}", raw_request(data, "image/jpeg"), w, h, f"EXIF Orientation {o}")
    ok("jpeg_exif_orientation_little_endian_6",
       raw_request(save(pic, "JPEG", exif=b"Exif\x00\x00" + exif_tiff(6, big_endian=False)), "image/jpeg"),
       24, 40, "little-endian EXIF")
    ok("jpeg_exif_orientation_out_of_range",
       raw_request(save(pic, "JPEG", exif=b"Exif\x00\x00" + exif_tiff(9)), "image/jpeg"), 40, 24,
       "Orientation 9 does not exist: ignored")

    # Hostile EXIF: huge, many, lying counts and offsets, a loop.
    huge_exif = b"Exif\x00\x00" + exif_tiff(6) + os.urandom(0) + b"\xAB" * (65533 - 6 - 26)
    ok("jpeg_exif_64k_blob", raw_request(jpeg_with_segments(jpeg, [(0xE1, huge_exif)]), "image/jpeg"),
       24, 40, "a maximal APP1 segment (64 KB) that still carries Orientation 6")
    many = [(0xE1, b"Exif\x00\x00" + b"\x00" * 65000)] * 24
    ok("jpeg_24_exif_segments_1_5MB", raw_request(jpeg_with_segments(jpeg, many), "image/jpeg"), 40, 24,
       "24 APP1 segments of 64 KB (1.5 MB of metadata)")
    lying = exif_tiff(entries=[(0x0112, 3, 1, 6)])
    lying = lying[:8] + b"\xff\xff" + lying[10:]  # entry count 65535, far beyond the block
    ok("jpeg_exif_entry_count_65535", raw_request(save(pic, "JPEG", exif=b"Exif\x00\x00" + lying), "image/jpeg"),
       24, 40, "IFD0 claims 65535 entries: entries are read only while in bounds; the first, "
       "Orientation 6, is")
    far = exif_tiff(entries=[(0x0112, 4, 1000000, 0x7FFFFFF0)])
    ok("jpeg_exif_offset_out_of_bounds", raw_request(save(pic, "JPEG", exif=b"Exif\x00\x00" + far), "image/jpeg"),
       40, 24, "Orientation stored as a LONG array far outside the block")
    loop = exif_tiff(entries=[(0x010F, 2, 4, 0x41424300)], next_ifd=8)
    ok("jpeg_exif_ifd_loop", raw_request(save(pic, "JPEG", exif=b"Exif\x00\x00" + loop), "image/jpeg"),
       40, 24, "IFD0's next-IFD pointer points back at itself")
    bad_ifd = b"MM\x00*\xff\xff\xff\xf0"
    ok("jpeg_exif_ifd_offset_past_end", raw_request(save(pic, "JPEG", exif=b"Exif\x00\x00" + bad_ifd), "image/jpeg"),
       40, 24, "IFD0 offset beyond the block")
    ok("png_exif_orientation_8", raw_request(save(pic, "PNG", exif=b"Exif\x00\x00" + exif_tiff(8)), "image/png"),
       24, 40, "PNG eXIf chunk with Orientation 8")

    # Animated and multi-page files: GIF is not a supported format; a TIFF's first page is used.
    frames = [picture(40, 24, seed=i) for i in range(3)]
    gif = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    err("gif_animated", raw_request(gif, "image/gif"), 415, "unsupported_media_type",
        "animated GIF: GIF is refused (any frame count)")
    err("gif_static", raw_request(save(pic, "GIF"), "image/gif"), 415, "unsupported_media_type",
        "single-frame GIF")
    tiff_pages = save(pic, "TIFF", save_all=True, append_images=[picture(80, 10, 1), picture(8, 8, 2)])
    ok("tiff_multipage_first_page", raw_request(tiff_pages, "image/tiff"), 40, 24,
       "3-page TIFF of different sizes: the first page is served")
    webp_anim = save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    err("webp_animated", raw_request(webp_anim, "image/webp"), 400, "invalid_image",
        "animated WebP: libwebp's still-image decoder refuses it")

    # Not images at all (or not ones we decode).
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    err("svg", raw_request(svg, "image/svg+xml"), 415, "unsupported_media_type", "SVG")
    err("svg_with_external_href", raw_request(
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<image xlink:href="http://169.254.169.254/computeMetadata/v1/"/></svg>', "image/svg+xml"),
        415, "unsupported_media_type", "SVG pointing at the metadata server: never fetched")
    heic = struct.pack(">I", 24) + b"ftypheic" + struct.pack(">I", 0) + b"mif1heic" + b"\x00" * 200
    err("heic_ftyp", raw_request(heic, "image/heic"), 415, "unsupported_media_type",
        "ISO-BMFF with the heic brand (a HEIC file's opening)")
    avif = struct.pack(">I", 28) + b"ftypavif" + struct.pack(">I", 0) + b"avifmif1miaf" + b"\x00" * 200
    err("avif_ftyp", raw_request(avif, "image/avif"), 415, "unsupported_media_type", "AVIF opening")
    err("text", raw_request(b"hello, this is not an image\n" * 10, "image/png"), 415,
        "unsupported_media_type", "plain text declared as PNG")
    err("html", raw_request(b"<!doctype html><html><body>x</body></html>", "image/jpeg"), 415,
        "unsupported_media_type", "HTML declared as JPEG")
    err("pdf", raw_request(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "image/png"), 415,
        "unsupported_media_type", "PDF")
    err("url_as_body", raw_request(b"http://169.254.169.254/computeMetadata/v1/", "image/png"), 415,
        "unsupported_media_type", "a URL instead of an image: never fetched")
    err("path_as_body", raw_request(b"/etc/passwd", "application/octet-stream"), 415,
        "unsupported_media_type", "a path instead of an image: never opened")
    err("random_bytes", raw_request(np.random.default_rng(7).bytes(4096), "application/octet-stream"), 415,
        "unsupported_media_type", "4 KB of random bytes")

    # Bodies over the limit: announced ones are refused from the headers, the body never sent.
    err("content_length_over_limit_unsent", raw_request(b"", "image/png", declared_length=MAX_BODY + 1),
        413, "body_too_large", "Content-Length one byte over the limit, body never sent")
    err("content_length_10GB_unsent", raw_request(b"", "image/png", declared_length=10 * 2**30), 413,
        "body_too_large", "Content-Length 10 GB, body never sent")
    err("multipart_over_limit_unsent",
        raw_request(b"", f"multipart/form-data; boundary={BOUNDARY}", declared_length=MAX_BODY * 4),
        413, "body_too_large", "multipart announced at 4x the limit, body never sent")
    err("expect_100_continue_over_limit",
        raw_request(b"", "image/png", declared_length=MAX_BODY * 2, extra_headers=["Expect: 100-continue"]),
        413, "body_too_large", "asks before sending (as curl does): told 413, not 100 Continue")
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_BODY + 512 * 1024)
    err("chunked_over_limit_unfinished", chunked_request(big, "image/png", finish=False), 413,
        "body_too_large", "chunked body past the limit whose end never comes")
    err("content_length_negative", raw_request(b"", "image/png", declared_length="-1"), 400,
        "bad_request", "negative Content-Length")

    # Parameters.
    err("unknown_query_parameter", raw_request(png, "image/png", "?foo=1"), 400, "unknown_parameter", "?foo=1")
    err("unknown_form_field", multipart_request([image_part(png), ("size", None, None, b"full")]), 400,
        "unknown_parameter", "form field 'size'")
    err("bad_format", raw_request(png, "image/png", "?format=gif"), 400, "invalid_parameter", "format=gif")
    err("bad_output", raw_request(png, "image/png", "?output=alpha"), 400, "invalid_parameter", "output=alpha")
    err("bad_bg_color", raw_request(png, "image/png", "?bg_color=zzzzzz"), 400, "invalid_parameter",
        "bg_color=zzzzzz")
    err("bg_color_too_long", raw_request(png, "image/png", "?bg_color=" + "f" * 4000), 400,
        "invalid_parameter", "a 4000-character bg_color")
    err("jpeg_with_alpha", raw_request(png, "image/png", "?format=jpeg"), 400, "invalid_parameter",
        "format=jpeg with an RGBA result")
    err("bg_color_with_mask", raw_request(png, "image/png", "?output=mask&bg_color=ffffff"), 400,
        "invalid_parameter", "bg_color with output=mask")
    err("empty_parameter_value", raw_request(png, "image/png", "?format="), 400, "invalid_parameter",
        "format with an empty value")
    err("percent_garbage_parameter", raw_request(png, "image/png", "?%zz%00=%ff"), 400, "unknown_parameter",
        "a parameter name of broken percent-escapes")
    ok("mask_output", raw_request(png, "image/png", "?output=mask"), 40, 24, "output=mask", channels=1)
    ok("jpeg_on_white", raw_request(png, "image/png", "?format=jpeg&bg_color=%23ffffff"), 40, 24,
       "percent-encoded #ffffff", channels=3)

    # Protocol level.
    err("unknown_path", raw_request(b"", None, path="/../../etc/passwd"), 404, "not_found",
        "a path traversal in the URL is just an unknown route")
    err("body_to_unknown_path", raw_request(png, "image/png", path="/../../etc/passwd"), 413, "body_not_allowed",
        "a body on a route that takes none (an unknown one too) is refused before it is read")
    err("gzip_body", raw_request(png, "image/png", extra_headers=["Content-Encoding: gzip"]), 415,
        "unsupported_content_encoding", "request bodies are never inflated: refused before reading")
    err("body_to_warmup", raw_request(png, "image/png", path="/warmup"), 413, "body_not_allowed",
        "/warmup takes no body: refused unread (the library read and inflated any)")
    err("get_on_upload_route", raw_request(b"", None, method="GET"), 404, "not_found",
        "GET on the upload route")
    err("uri_too_long", raw_request(png, "image/png", "?format=" + "a" * 9000), 414, "uri_too_long",
        "a 9000-character query")
    cases.append(dict(name="garbage_request_line", request=b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
                      status=400, type="bad_request", why="a TLS ClientHello on the plain port"))
    return cases


def read_case(name):
    """One of the reported inputs kept in tests/imaging/cases/."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "imaging", "cases", name), "rb") as f:
        return f.read()


def bmp_top_down(img):
    """A 24-bit BMP with a negative height (rows stored top to bottom), written by hand."""
    w, h = img.size
    rows = np.asarray(img)[:, :, ::-1]
    stride = (w * 3 + 3) & ~3
    pixels = b"".join(r.tobytes() + b"\x00" * (stride - w * 3) for r in rows)
    info = struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(pixels), 0, 0, 54) + info + pixels


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="directory to write the corpus into")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    manifest = []
    for case in build_cases():
        request = case.pop("request")
        case["file"] = case["name"] + ".http"
        case["bytes"] = len(request)
        with open(os.path.join(out, case["file"]), "wb") as f:
            f.write(request)
        manifest.append(case)
    names = [c["name"] for c in manifest]
    assert len(names) == len(set(names)), "duplicate case names"
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"server": {"max_body_bytes": MAX_BODY, "max_pixels": MAX_PIXELS}, "cases": manifest}, f, indent=1)
    print(f"made {len(manifest)} hostile-input cases in {out}")


if __name__ == "__main__":
    main()
