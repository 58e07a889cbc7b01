"""Issue 14, item 2: decoder bombs (TIFF tiles, progressive JPEG scans, a truncated huge JPEG).

Expected (What to build): header checks that see every allocation a decoder will make (tile and
strip sizes, a scan limit) and a decode deadline: each refused with a 4xx JSON error, quickly and
without the memory the header claims."""
import harness
import payloads
from registry import case


def _upload_case(ctx, image, max_seconds, max_growth_mib, **figures):
    v = harness.Verdict()
    srv = ctx.shared_server()
    with srv.sample() as mem:
        a = harness.upload(srv.port, image, timeout=180)
    v.figures.update(upload_bytes=len(image), answer=repr(a), seconds=a.seconds,
                     rss_growth_mib=mem.growth_mib, **figures)
    v.check("4xx with a JSON error body", repr(a), harness.json_4xx(a))
    v.check(f"answered within {max_seconds} s", f"{a.seconds} s", a.seconds is not None and a.seconds < max_seconds)
    v.check(f"RSS growth < {max_growth_mib} MiB", f"{mem.growth_mib} MiB", mem.growth_mib < max_growth_mib)
    v.check("server still alive", srv.alive(), srv.alive())
    return v


@case(2, "16x16 TIFF declaring one huge tile: 4xx JSON within 2 s, RSS growth < 64 MiB")
def tiff_tile_bomb(ctx):
    tile = ctx.size((8192, 8192), (32768, 32752))
    return _upload_case(ctx, payloads.tiff_tile_bomb(*tile), 2.0, 64, tile=f"{tile[0]}x{tile[1]}")


@case(2, "progressive JPEG repeating its first scan header: 4xx JSON within 2 s (scan limit / deadline)")
def jpeg_progressive_scan_flood(ctx):
    side, scans = ctx.size((1024, 5000), (2048, 20000))
    return _upload_case(ctx, payloads.jpeg_scan_flood(side, side, scans), 2.0, 64,
                        picture=f"{side}x{side}", scans=scans)


@case(2, "JPEG header declaring 50 MP, cut after SOS: 400 JSON within 1 s, RSS growth < 64 MiB")
def jpeg_truncated_50mp_header(ctx):
    v = _upload_case(ctx, payloads.jpeg_truncated_header(7071, 7071), 1.0, 64, declared="7071x7071")
    return v


DEADLINE_FLAG = "--decode-timeout-ms"


@case(2, "progressive JPEG of 500 valid scans (3000x3000 in 30 KB): with a 250 ms decode deadline, a JSON error within 1.5 s")
def jpeg_valid_scans_decode_deadline(ctx):
    v = harness.Verdict()
    side, deadline_ms = ctx.size((3000, 250), (7000, 1000))
    image = payloads.jpeg_many_valid_scans(side, side)
    flag_known = harness.has_flag(ctx, DEADLINE_FLAG)
    v.check(f"server has {DEADLINE_FLAG}", flag_known, flag_known)
    flags = [DEADLINE_FLAG, deadline_ms] if flag_known else []  # without it: measure what it costs now
    with harness.Server(ctx, ctx.model("tiny.pt"), *flags, name="deadline") as srv:
        srv.ready()
        with srv.sample() as mem:
            a = harness.upload(srv.port, image, timeout=120)
    bound = deadline_ms / 1000 + 1.25
    v.figures.update(upload_bytes=len(image), picture=f"{side}x{side}", scans=500,
                     deadline_ms=deadline_ms if flag_known else None, answer=repr(a), seconds=a.seconds,
                     rss_growth_mib=mem.growth_mib)
    v.check("a JSON error (4xx or 503), not the decoded picture", repr(a),
            a.is_json_error() and (harness.json_4xx(a) or a.status == 503))
    v.check(f"answered within {bound} s", f"{a.seconds} s", a.seconds is not None and a.seconds < bound)
    return v
