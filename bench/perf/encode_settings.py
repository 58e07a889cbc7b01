#!/usr/bin/python3
"""PNG and WebP encoder settings on a 12 MP cut-out, with the OpenCV the server links (Debian's
python3-opencv is the same library). Makes a photo-like 4000x3000 BGRA cut-out from a real photo and
its ground-truth alpha (upscaled, sensor-like noise, a JPEG round trip) and a flat graphic with the
same alpha, then times each setting; rounds interleave the settings, medians are printed. Also writes
the photo as a JPEG and its alpha into OUT_DIR for end-to-end requests. docs/performance.md, "PNG".

    /usr/bin/python3 bench/perf/encode_settings.py .cache/bench-quality/composites/q2024-000.jpg \
        .cache/bench-quality/composites/q2024-000.truth.png 3 photo,graphic /tmp/encode-out
"""
import os, sys, time, statistics, cv2, numpy as np
P = cv2
src = cv2.imread(sys.argv[1]); truth = cv2.imread(sys.argv[2], cv2.IMREAD_GRAYSCALE)
reps = int(sys.argv[3]); which = sys.argv[4].split(",")
out_dir = sys.argv[5] if len(sys.argv) > 5 else "/tmp"
os.makedirs(out_dir, exist_ok=True)
W, H = 4000, 3000
img = cv2.resize(src, (W, H), interpolation=cv2.INTER_CUBIC)
rng = np.random.default_rng(0)
img = np.clip(img.astype(np.int16) + rng.normal(0, 3, img.shape).round().astype(np.int16), 0, 255).astype(np.uint8)
ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90]); img = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
alpha = cv2.resize(truth, (W, H), interpolation=cv2.INTER_LINEAR)
photo = np.dstack([img, alpha])
cv2.imwrite(os.path.join(out_dir, "photo12mp.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
cv2.imwrite(os.path.join(out_dir, "alpha12mp.png"), alpha)
flat = np.full((H, W, 3), 245, np.uint8)
for i in range(40):
    c = tuple(int(v) for v in rng.integers(0, 255, 3))
    x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
    cv2.circle(flat, (x, y), int(rng.integers(50, 600)), c, -1, cv2.LINE_AA)
    cv2.putText(flat, "cutout", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 8, c[::-1], 12, cv2.LINE_AA)
graphic = np.dstack([flat, alpha])
print("photo alpha 0: %.0f%%, 255: %.0f%%" % (100*(alpha==0).mean(), 100*(alpha==255).mean()), flush=True)
S = P.IMWRITE_PNG_STRATEGY; C = P.IMWRITE_PNG_COMPRESSION
cases = {
 "L1 adaptive-filter default (current)": (".png", [C, 1, S, P.IMWRITE_PNG_STRATEGY_DEFAULT]),
 "L6 adaptive-filter default (zlib default)": (".png", [C, 6, S, P.IMWRITE_PNG_STRATEGY_DEFAULT]),
 "L1 SUB RLE (OpenCV no params)": (".png", []),
 "L1 SUB default": (".png", [S, P.IMWRITE_PNG_STRATEGY_DEFAULT]),
 "L1 SUB filtered": (".png", [S, P.IMWRITE_PNG_STRATEGY_FILTERED]),
 "L1 SUB huffman": (".png", [S, P.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]),
 "webp q90": (".webp", [P.IMWRITE_WEBP_QUALITY, 90]),
 "webp lossless": (".webp", [P.IMWRITE_WEBP_QUALITY, 101]),
}
for name, data in (("photo", photo), ("graphic", graphic)):
    if name not in which: continue
    times = {k: [] for k in cases}; sizes = {}
    for r in range(reps):
        for k, (ext, params) in cases.items():
            if name == "graphic" and k.startswith(("webp", "L6")): continue
            t = time.perf_counter(); ok, buf = cv2.imencode(ext, data, params); times[k].append(time.perf_counter() - t); sizes[k] = len(buf)
    for k in cases:
        if times[k]:
            print(f"{name:8} {k:42} {statistics.median(times[k])*1000:7.0f} ms {sizes[k]/1e6:7.2f} MB  ({' '.join('%.0f' % (v*1000) for v in times[k])})", flush=True)
