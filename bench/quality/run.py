#!/usr/bin/env python3
"""Quality benchmark with ground truth: alpha icons composited onto photographs, through cutout-server.

    bench/quality/fetch_assets.sh                               # once: Debian packages -> .cache
    bench/quality/run.py --server build/cutout-server           # starts the server on a free port
    bench/quality/run.py --url http://127.0.0.1:8080            # or: a server that is already up
    bench/quality/run.py --backend python                       # or: the pipeline re-done in Python

Prints IoU at 0.5 and MAE per image, then mean, median and min; writes a contact sheet (input |
truth | prediction) and the results (markdown + JSON). Composites are deterministic from --seed and
cached under .cache/bench-quality/composites (they are not committed; the results and sheet are).
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import composites  # noqa: E402
import pipeline  # noqa: E402

CACHE = os.path.join(os.environ.get("CUTOUT_CACHE_DIR", os.path.join(ROOT, ".cache")), "bench-quality")


def contact_sheet(rows, path, thumb_h=180, max_rows=12):
    """input | truth | prediction per row, with the name and scores written under each row."""
    from PIL import Image, ImageDraw
    picked = rows[:max_rows]
    tiles = []
    for r in picked:
        w, h = r["size"]
        tw = max(1, round(w * thumb_h / h))
        inp = Image.open(r["jpeg"]).convert("RGB").resize((tw, thumb_h), Image.BILINEAR)
        tru = Image.open(r["truth"]).convert("L").resize((tw, thumb_h), Image.BILINEAR).convert("RGB")
        pre = Image.fromarray(r["pred"], "L").resize((tw, thumb_h), Image.BILINEAR).convert("RGB")
        tiles.append((r, [inp, tru, pre]))
    gap, label_h = 6, 16
    width = max(sum(t.width for t in ims) + 2 * gap for _, ims in tiles)
    height = len(tiles) * (thumb_h + label_h + gap)
    sheet = Image.new("RGB", (width, height + label_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), "input | truth | prediction (cutout.json pipeline, output=mask)", fill=(0, 0, 0))
    y = label_h
    for r, ims in tiles:
        x = 0
        for im in ims:
            sheet.paste(im, (x, y))
            x += im.width + gap
        draw.text((4, y + thumb_h + 1), f"{r['name']}  {r['size'][0]}x{r['size'][1]}  {r['foreground']} on "
                  f"{r['background']}   IoU {r['iou']:.3f}  MAE {r['mae']:.4f}", fill=(0, 0, 0))
        y += thumb_h + label_h + gap
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sheet.save(path, optimize=True)


def summarise(rows):
    ious = [r["iou"] for r in rows]
    maes = [r["mae"] for r in rows]
    return {"n": len(rows), "iou_mean": statistics.fmean(ious), "iou_median": statistics.median(ious),
            "iou_min": min(ious), "mae_mean": statistics.fmean(maes), "mae_median": statistics.median(maes),
            "mae_max": max(maes), "seconds_mean": statistics.fmean(r["seconds"] for r in rows)}


def table(rows, s):
    lines = ["| image | size | foreground | background | IoU@0.5 | MAE | s |",
             "|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['size'][0]}x{r['size'][1]} | {r['foreground']} | {r['background']} | "
                     f"{r['iou']:.4f} | {r['mae']:.4f} | {r['seconds']:.1f} |")
    lines.append(f"| **mean** | | | | **{s['iou_mean']:.4f}** | **{s['mae_mean']:.4f}** | {s['seconds_mean']:.1f} |")
    lines.append(f"| median | | | | {s['iou_median']:.4f} | {s['mae_median']:.4f} | |")
    lines.append(f"| min IoU / max MAE | | | | {s['iou_min']:.4f} | {s['mae_max']:.4f} | |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--url", help="base URL of a running cutout-server")
    src.add_argument("--server", help="cutout-server binary to start (default build/cutout-server)")
    ap.add_argument("--backend", choices=("server", "python"), default="server")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.pt"),
                    help="model for --server and --backend python")
    ap.add_argument("--device", default="cpu", help="--device for a started server")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--assets", default=os.path.join(CACHE, "root"))
    ap.add_argument("--workdir", default=os.path.join(CACHE, "composites"))
    ap.add_argument("--sheet", default=os.path.join(ROOT, "docs", "quality-contact-sheet.png"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"),
                    help="writes RESULTS.md and RESULTS.json (pass '' to skip)")
    args = ap.parse_args(argv)

    t0 = time.time()
    items = composites.build_set(args.assets, args.workdir, args.seed, args.count)
    print(f"{len(items)} composites (seed {args.seed}) in {args.workdir} ({time.time() - t0:.1f} s)")
    versions_file = os.path.join(os.path.dirname(args.assets), "versions.txt")
    versions = open(versions_file).read().split("\n") if os.path.isfile(versions_file) else []

    if args.backend == "python":
        backend = pipeline.PythonBackend(args.model)
        rows = pipeline.score(backend, items)
        info = {"backend": backend.name}
    elif args.url:
        backend = pipeline.ServerBackend(args.url)
        info = {"backend": backend.name, "health": backend.health()}
        rows = pipeline.score(backend, items)
    else:
        binary = args.server or os.path.join(ROOT, "build", "cutout-server")
        log = os.path.join(CACHE, "server.log")
        os.makedirs(CACHE, exist_ok=True)
        with pipeline.start_server(binary, args.model, device=args.device, log_path=log) as url:
            backend = pipeline.ServerBackend(url)
            info = {"backend": f"{os.path.relpath(binary, ROOT)} --model {os.path.relpath(args.model, ROOT)} "
                               f"--device {args.device}", "health": backend.health()}
            rows = pipeline.score(backend, items)

    s = summarise(rows)
    text = table(rows, s)
    print(text)
    print(f"\nmean IoU@0.5 {s['iou_mean']:.4f}, median {s['iou_median']:.4f}, min {s['iou_min']:.4f}; "
          f"mean MAE {s['mae_mean']:.4f}  ({info['backend']})")
    if args.sheet:
        contact_sheet(rows, args.sheet)
        print(f"contact sheet: {args.sheet}")
    if args.results:
        os.makedirs(args.results, exist_ok=True)
        header = (f"# bench/quality results\n\nBackend: {info['backend']}  \nSeed {args.seed}, {len(rows)} composites, "
                  f"0.5-2 MP JPEG uploads; IoU at 0.5 and MAE on the 8-bit mask.  \nSources: "
                  + ", ".join(v for v in versions if v) + "\n\n")
        with open(os.path.join(args.results, "RESULTS.md"), "w") as f:
            f.write(header + text + "\n")
        with open(os.path.join(args.results, "RESULTS.json"), "w") as f:
            json.dump({"info": info, "seed": args.seed, "sources": [v for v in versions if v], "summary": s,
                       "images": [{k: v for k, v in r.items() if k not in ("pred", "jpeg", "truth")}
                                  for r in rows]}, f, indent=1, sort_keys=True)
        print(f"results: {args.results}/RESULTS.md, RESULTS.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
