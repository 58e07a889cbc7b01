"""The attack suite's hostile bytes are what its cases say they are (bench/attack/payloads.py):
a case that sent something else would judge the server on the wrong attack."""
import io
import os
import struct
import sys
import unittest
import zlib

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "attack"))
import payloads  # noqa: E402


def markers(data):
    """Every JPEG marker byte after 0xFF that is not stuffing or a fill byte."""
    return [data[i + 1] for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] not in (0x00, 0xFF)]


class GzipTest(unittest.TestCase):
    def test_inflates_to_the_size_asked_from_a_thousandth_of_it(self):
        body = payloads.gzip_of_zeros(8 << 20)
        self.assertEqual(zlib.decompress(body, 31), bytes(8 << 20))
        self.assertLess(len(body), (8 << 20) // 500)


class TiffTileBombTest(unittest.TestCase):
    def test_a_16x16_picture_with_one_declared_tile_of_the_size_asked(self):
        data = payloads.tiff_tile_bomb(512, 256)
        img = Image.open(io.BytesIO(data))
        self.assertEqual(img.size, (16, 16))
        self.assertEqual((img.tag_v2[322], img.tag_v2[323]), (512, 256))  # TileWidth, TileLength
        offset, count = img.tag_v2[324], img.tag_v2[325]
        offset = offset[0] if isinstance(offset, tuple) else offset
        count = count[0] if isinstance(count, tuple) else count
        self.assertEqual(len(zlib.decompress(data[offset:offset + count])), 512 * 256 * 3)


class JpegTest(unittest.TestCase):
    def test_scan_flood_repeats_the_first_scan_header_with_nothing_between(self):
        data = payloads.jpeg_scan_flood(64, 64, 300)
        self.assertEqual(markers(data).count(0xDA), 300)
        sos = data.index(b"\xff\xda")
        length = struct.unpack(">H", data[sos + 2:sos + 4])[0] + 2
        self.assertEqual(data[sos:sos + length] * 300 + b"\xff\xd9", data[sos:])

    def test_truncated_header_declares_the_size_and_holds_no_scan_data(self):
        data = payloads.jpeg_truncated_header(7071, 7071)
        self.assertEqual(Image.open(io.BytesIO(data)).size, (7071, 7071))
        self.assertLess(len(data), 700)
        self.assertEqual(markers(data)[-1], 0xDA)  # ends with the scan header

    def test_many_valid_scans_decode_to_mid_grey_with_every_scan(self):
        data = payloads.jpeg_many_valid_scans(100, 60)
        self.assertEqual(markers(data).count(0xDA), 500)
        img = Image.open(io.BytesIO(data))
        img.load()  # libjpeg reads every scan (a bad table raises); main's decoder, which stops on
        # a bad progression, served it (bench/results/attack-before.txt)
        self.assertEqual((img.mode, img.size, img.getextrema()), ("L", (100, 60), (128, 128)))

    def test_many_valid_scans_stay_small_at_50_megapixels(self):
        self.assertLess(len(payloads.jpeg_many_valid_scans(7000, 7000)), 150_000)


class MultipartTest(unittest.TestCase):
    def test_empty_parts_then_the_closing_delimiter_in_chunked_framing(self):
        raw = b"".join(payloads.chunked(payloads.empty_parts_multipart("b0", 10_000)))
        body, rest = b"", raw
        while True:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                self.assertEqual(rest, b"\r\n")
                break
            body, rest = body + rest[:size], rest[size + 2:]
        self.assertEqual(body.count(b"--b0\r\n\r\n\r\n"), 10_000)
        self.assertTrue(body.endswith(b"--b0--\r\n"))


if __name__ == "__main__":
    unittest.main()
