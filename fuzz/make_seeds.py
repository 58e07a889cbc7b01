#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (fuzz/*_fuzzer.cpp) into a directory.

Everything is generated here, with Pillow and OpenCV, from nothing: small pictures in every format
and flavour the decoder handles (and some it refuses), wrapped in requests as the request fuzzer
expects them (QUERY '\\n' CONTENT-TYPE '\\n' BODY), and metadata documents for the metadata fuzzer.
Seeds are small (a few KB) so that each fuzzing run is fast. Deterministic: same bytes every run.
"""
import argparse
import io
import json
import os
import struct
import sys
import zlib

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import cutout_meta  # noqa: E402


def picture(w=24, h=16):
    """Blue background, red square: what the tiny test model separates."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :] = (0, 0, 255)  # RGB blue
    img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (255, 0, 0)
    img[0, :, 1] = np.arange(w, dtype=np.uint8) * 10
    return img


def pil_bytes(image, fmt, **kw):
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def exif_orientation(value):
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def png_with_size(width, height):
    """A PNG whose IHDR claims width x height (valid CRC) and holds one tiny IDAT."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4))
            + chunk(b"IEND", b""))


def rgb_icc(colorants, gamma):
    """A minimal ICC v2 display profile (matrix/TRC): D50-adapted colorants (three XYZ triples) and
    one gamma for all channels. Enough for lcms2 to convert from it, so the seeds reach the
    conversion to sRGB (issue 13)."""
    def s15(v):
        return struct.pack(">i", int(round(v * 65536)))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)
    desc_text = b"seed RGB\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * 12 + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(gamma * 256))) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(*colorants[0])),
            (b"gXYZ", xyz(*colorants[1])), (b"bXYZ", xyz(*colorants[2])), (b"rTRC", curve),
            (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        if sig in (b"gTRC", b"bTRC"):  # share rTRC's bytes
            table += sig + struct.pack(">II", curve_at, len(body))
            continue
        if sig == b"rTRC":
            curve_at = offset + len(data)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = 128 + len(table) + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " +
              b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + b"\0" * 4 +
              s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128, len(header)
    return header + table + data


# Display P3's and Adobe RGB's colorants, adapted to D50 (as in their published profiles).
P3_COLORANTS = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
ADOBE_COLORANTS = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))


def images():
    rgb = Image.fromarray(picture())
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray((np.indices((16, 24))[1] * 10).astype(np.uint8)))
    gray = rgb.convert("L")
    bgr = cv2.cvtColor(picture(), cv2.COLOR_RGB2BGR)
    out = {
        "png_rgb": pil_bytes(rgb, "PNG"),
        "png_rgba": pil_bytes(rgba, "PNG"),
        "png_gray": pil_bytes(gray, "PNG"),
        "png_gray_alpha": pil_bytes(rgba.convert("LA"), "PNG"),
        "png_palette": pil_bytes(rgb.convert("P", palette=Image.ADAPTIVE, colors=4), "PNG"),
        "png_rgb16": cv2.imencode(".png", bgr.astype(np.uint16) * 257)[1].tobytes(),
        "png_rgba16": cv2.imencode(".png", cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA).astype(np.uint16) * 257)[1].tobytes(),
        "png_exif6": pil_bytes(rgb, "PNG", exif=exif_orientation(6)),
        "png_claims_50000x50000": png_with_size(50000, 50000),
        "png_1x300": pil_bytes(Image.fromarray(np.full((300, 1, 3), 200, np.uint8)), "PNG"),
        "jpeg": pil_bytes(rgb, "JPEG", quality=80),
        "jpeg_progressive": pil_bytes(rgb, "JPEG", quality=80, progressive=True),
        "jpeg_gray": pil_bytes(gray, "JPEG"),
        "jpeg_cmyk": pil_bytes(rgb.convert("CMYK"), "JPEG"),
        "webp_lossy": pil_bytes(rgb, "WEBP", quality=60),
        "webp_lossless_alpha": pil_bytes(rgba, "WEBP", lossless=True),
        "webp_exif3": pil_bytes(rgb, "WEBP", exif=exif_orientation(3)),
        "bmp": pil_bytes(rgb, "BMP"),
        "bmp_rgba": cv2.imencode(".bmp", cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))[1].tobytes(),
        "tiff": pil_bytes(rgb, "TIFF"),
        "tiff_rgba_deflate": pil_bytes(rgba, "TIFF", compression="tiff_adobe_deflate"),
        "tiff_two_pages": pil_bytes(rgb, "TIFF", save_all=True, append_images=[gray.convert("RGB")]),
        "tiff_rgb16": cv2.imencode(".tiff", bgr.astype(np.uint16) * 257)[1].tobytes(),
        "gif": pil_bytes(rgb, "GIF"),
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
        "text": b"not an image\n",
    }
    # Colour profiles (converted to sRGB, or ignored when unusable) and truncated files (refused).
    p3, adobe = rgb_icc(P3_COLORANTS, 2.2), rgb_icc(ADOBE_COLORANTS, 563 / 256)
    out["jpeg_icc_p3"] = pil_bytes(rgb, "JPEG", quality=80, icc_profile=p3)
    out["jpeg_gray_icc_rgb"] = pil_bytes(gray, "JPEG", icc_profile=adobe)
    out["jpeg_cmyk_icc_rgb"] = pil_bytes(rgb.convert("CMYK"), "JPEG", icc_profile=p3)
    out["png_icc_adobe"] = pil_bytes(rgb, "PNG", icc_profile=adobe)
    out["webp_icc_p3"] = pil_bytes(rgba, "WEBP", lossless=True, icc_profile=p3)
    out["tiff_icc_p3"] = pil_bytes(rgb, "TIFF", tiffinfo={34675: p3})
    out["jpeg_icc_garbage"] = pil_bytes(rgb, "JPEG", icc_profile=b"\x55" * 200)
    out["jpeg_truncated"] = out["jpeg"][: len(out["jpeg"]) * 2 // 3]
    out["jpeg_progressive_truncated"] = out["jpeg_progressive"][: len(out["jpeg_progressive"]) * 3 // 4]
    out["png_truncated"] = out["png_rgb"][:-20]
    out["webp_truncated"] = out["webp_lossy"][:-16]
    for orientation in range(1, 9):
        out[f"jpeg_exif{orientation}"] = pil_bytes(rgb, "JPEG", quality=70, exif=exif_orientation(orientation))
    return out


# Valid parameter sets, rotated over the pictures (parameters are checked before decoding, so a bad
# one would stop a picture's seed short of the decoder); the bad ones get seeds of their own.
QUERIES = ["", "output=mask", "format=webp", "bg_color=ff8800&format=jpeg", "output=mask&format=jpeg",
           "output=rgba&format=png", "crop=true&crop_margin=10%25&max_side=64",
           "crop=true&crop_margin=3&output=mask&max_side=8", "max_side=16&bg_color=00ff00"]
BAD_QUERIES = ["format=jpeg", "bg_color=zz", "colour=red", "output=", "format=gif&output=mask",
               "crop_margin=5", "crop=true&crop_margin=200%25", "max_side=0"]
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "bmp": "image/bmp",
                 "tiff": "image/tiff", "gif": "image/gif", "svg": "image/svg+xml", "text": "text/plain"}


def multipart(boundary, parts):
    body = b""
    for name, filename, content_type, data in parts:
        body += b"--" + boundary + b"\r\n"
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if filename:
            disposition += b'; filename="' + filename + b'"'
        body += disposition + b"\r\n"
        if content_type:
            body += b"Content-Type: " + content_type + b"\r\n"
        body += b"\r\n" + data + b"\r\n"
    return body + b"--" + boundary + b"--\r\n"


def request(query, content_type, body):
    return query.encode() + b"\n" + content_type.encode() + b"\n" + body


def request_seeds():
    seeds = {}
    for i, (name, data) in enumerate(sorted(images().items())):
        kind = name.split("_")[0]
        seeds[f"raw_{name}"] = request(QUERIES[i % len(QUERIES)], CONTENT_TYPES[kind], data)
    pics = images()
    for i, query in enumerate(BAD_QUERIES):
        seeds[f"bad_query_{i}"] = request(query, "image/png", pics["png_rgb"])
    b = b"cutoutBoundary7f"
    ct = "multipart/form-data; boundary=" + b.decode()
    seeds["multipart_png"] = request("", ct, multipart(b, [(b"image", b"a.png", b"image/png", pics["png_rgba"])]))
    seeds["multipart_jpeg_fields"] = request("", ct, multipart(b, [
        (b"image", b"a.jpg", b"image/jpeg", pics["jpeg_exif6"]), (b"format", None, None, b"webp"),
        (b"bg_color", None, None, b"102030")]))
    seeds["multipart_file_part_mask"] = request("output=mask", ct, multipart(b, [
        (b"file", b"a.webp", b"image/webp", pics["webp_lossy"])]))
    seeds["multipart_no_image"] = request("", ct, multipart(b, [(b"format", None, None, b"png")]))
    seeds["multipart_empty_image"] = request("", ct, multipart(b, [(b"image", b"a.png", b"image/png", b"")]))
    seeds["multipart_extra_file"] = request("", ct, multipart(b, [
        (b"image", b"a.png", b"image/png", pics["png_gray"]), (b"other", b"b.png", b"image/png", b"x")]))
    seeds["multipart_broken_boundary"] = request("", ct, multipart(b"otherBoundary", [
        (b"image", b"a.png", b"image/png", pics["png_rgb"])]))
    seeds["octet_stream_bmp"] = request("format=png", "application/octet-stream", pics["bmp"])
    seeds["no_content_type"] = request("", "", pics["png_rgb"])
    seeds["empty_body"] = request("", "image/png", b"")
    return seeds


def metadata_seeds():
    base = cutout_meta.make_metadata("tiny", 32, 32, cutout_meta.IMAGENET_MEAN, cutout_meta.IMAGENET_STD)
    docs = {
        "valid": base,
        "bgr_sigmoid_tuple": cutout_meta.make_metadata("b", 16, 24, [0.5] * 3, [0.25] * 3, channel_order="BGR",
                                                       output_index=1, activation="sigmoid", mode="fast",
                                                       weights_dtype="float16"),
        "large": cutout_meta.make_metadata("big", 8192, 8192, [0, 0, 0], [1, 1, 1]),
    }
    seeds = {name: json.dumps(doc, indent=1, sort_keys=True).encode() for name, doc in docs.items()}
    broken = json.loads(json.dumps(base))
    broken["input"]["channel_order"] = "XYZ"
    seeds["bad_channel_order"] = json.dumps(broken).encode()
    broken = json.loads(json.dumps(base))
    broken["input"]["std"] = [0.2, 0, 0.2]
    seeds["zero_std"] = json.dumps(broken).encode()
    broken = json.loads(json.dumps(base))
    del broken["output"]
    seeds["no_output"] = json.dumps(broken).encode()
    seeds["format_2"] = json.dumps(dict(base, format=2)).encode()
    seeds["big_numbers"] = (b'{"format":1,"input":{"width":1e3,"height":18446744073709551615,'
                            b'"channel_order":"RGB","mean":[1e-300,-0.0,1],"std":[1,1,1]},'
                            b'"output":{"index":-1,"activation":"none"}}')
    seeds["not_object"] = b"[1,2,3]"
    seeds["empty"] = b""
    return seeds


def multipart_seeds():
    """CONTENT-TYPE '\\n' BODY: the real clients' bodies of tests/http/clients/, and bodies at the edges
    of what the reader accepts and refuses."""
    clients = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "http", "clients")
    seeds = {}
    with open(os.path.join(clients, "clients.json")) as f:
        for entry in json.load(f):
            with open(os.path.join(clients, entry["file"]), "rb") as body:
                seeds["client_" + entry["file"].split(".")[0]] = entry["content_type"].encode() + b"\n" + body.read()
    b = b"xYz"
    ct = b"multipart/form-data; boundary=xYz\n"
    disposition = b"Content-Disposition: form-data; name=image; filename*=UTF-8''a%C3%A9.png\r\n"
    seeds["padding_preamble_epilogue"] = ct + b"pre\r\n--xYz \t\r\n" + disposition + b"\r\nAB\r\n--xYz--  \r\nepi"
    seeds["no_final_crlf"] = ct + b"--xYz\r\n" + disposition + b"\r\n\r\n--xYz\r\n\r\n--xYz--"
    seeds["folded_quoted"] = (b'Multipart/Form-Data; charset=x; BOUNDARY="x Yz"\n--x Yz\r\nContent-Disposition: '
                              b'form-data;\r\n\tname="a\\"b"; filename="C:\\d\\a.jpg"\r\nContent-Length: 2\r\n\r\nhi\r\n'
                              b"--x Yz--")
    seeds["content_like_boundary"] = ct + b"--xYz\r\nContent-Disposition: form-data; name=f\r\n\r\n\r\n--xYzZ\r\n--xY\r\n--xYz--"
    seeds["many_parts"] = ct + b"--xYz\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n" * 10 + b"--xYz--"
    seeds["long_header"] = ct + b"--xYz\r\nContent-Disposition: form-data; name=" + b"n" * 300 + b"\r\n\r\nx\r\n--xYz--"
    seeds["base64"] = ct + b"--xYz\r\nContent-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==\r\n--xYz--"
    seeds["unterminated"] = ct + b"--xYz\r\nContent-Disposition: form-data; name=a\r\n\r\nabc"
    seeds["zero_parts"] = ct + b"--xYz--"
    del b
    return seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, choices=["request", "metadata", "multipart"])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    seeds = {"request": request_seeds, "metadata": metadata_seeds, "multipart": multipart_seeds}[args.target]()
    for name, data in seeds.items():
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} {args.target} seeds to {args.out}")


if __name__ == "__main__":
    main()
