#!/usr/bin/env python3
"""The GPU benchmark's one summary table, from OUT/probe.json (probe.py), OUT/compare.json
(compare.py) and OUT/pipeline.json (engine-bench's pipeline step), any may be missing. Prints it
and writes OUT/summary.txt and OUT/summary.json.
The columns are documented in docs/performance.md ("The summary table").

    python3 bench/gpu/summary.py --out OUT
"""
import argparse
import json
import os
import statistics
import sys

COLUMNS = ["section", "model", "prec", "configuration", "metric", "median", "min..max", "n",
           "peak MiB alloc/resv", "note"]


def stats(values):
    values = [v for v in values if isinstance(v, (int, float))]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def peak_text(peaks):
    """Largest peak over the runs of a row, or the reason there is none (n/a on this build...)."""
    nums = [p for p in peaks if isinstance(p, dict)]
    if nums:
        return f"{max(p['allocated_mib'] for p in nums):.0f}/{max(p['reserved_mib'] for p in nums):.0f}"
    texts = [p for p in peaks if isinstance(p, str)]
    return texts[0] if texts else ""


def row(section, model, prec, config, metric, values, peaks=(), note=""):
    s = stats(values)
    return {"section": section, "model": model, "precision": prec, "configuration": config,
            "metric": metric, "stats": s, "peak": peak_text(list(peaks)), "note": note}


def na_row(section, model, prec, config, metric, why):
    return {"section": section, "model": model, "precision": prec, "configuration": config,
            "metric": metric, "stats": None, "peak": "", "note": why}


def probe_rows(runs):
    rows = []
    ok = [r for r in runs if "error" not in r]
    for r in runs:
        if "error" in r:
            rows.append(na_row(r["kind"], r["model_name"], r["precision"],
                               f"loading={r['module_loading']} cudnn_bench={r['cudnn_benchmark_asked']}",
                               "error", r["error"][:120]))
    keys = []
    for r in ok:
        k = (r["kind"], r["model_name"], r["precision"])
        if k not in keys:
            keys.append(k)
    # Batch sweep: latency, throughput, and the throughput gain over batch 1 (the batching decision).
    for kind, model, prec in [k for k in keys if k[0] == "sweep"]:
        rs = [r for r in ok if (r["kind"], r["model_name"], r["precision"]) == (kind, model, prec)]
        by_batch = {}
        for r in rs:
            for b in r["sweep"]:
                by_batch.setdefault(b["batch"], []).append(b)
        base = by_batch.get(1)
        base_ips = statistics.median([b["images_per_s"] for b in base]) if base else None
        for batch, bs in sorted(by_batch.items()):
            cfg = f"batch={batch}"
            peaks = [b["peak"] for b in bs]
            rows.append(row("sweep", model, prec, cfg, "forward_ms",
                            [b["forward_ms"]["median"] for b in bs], peaks))
            ips = [b["images_per_s"] for b in bs]
            note = f"x{statistics.median(ips) / base_ips:.2f} images/s vs batch 1" if base_ips and batch != 1 else ""
            rows.append(row("sweep", model, prec, cfg, "images_per_s", ips, peaks, note))
    # Cold start: each step per configuration, then the derived autotuning and loading figures.
    for kind, model, prec in [k for k in keys if k[0] == "coldstart"]:
        rs = [r for r in ok if (r["kind"], r["model_name"], r["precision"]) == (kind, model, prec)]
        configs = []
        for r in rs:
            c = (r["module_loading"], r["cudnn_benchmark_asked"])
            if c not in configs:
                configs.append(c)
        first = {}
        for loading, bench in configs:
            cr = [r for r in rs if (r["module_loading"], r["cudnn_benchmark_asked"]) == (loading, bench)]
            cfg = f"loading={loading} cudnn_bench={bench}"
            peaks = [r["peak"] for r in cr]
            for step in ("context_ms", "load_ms", "to_dtype_ms", "forward1_ms", "ready_ms", "forward2_ms"):
                rows.append(row("cold", model, prec, cfg, step, [r["steps"][step] for r in cr], peaks))
            rows.append(row("cold", model, prec, cfg, "steady_ms",
                            [r["steps"]["steady_ms"]["median"] for r in cr], peaks))
            rows.append(row("cold", model, prec, cfg, "exec_to_ready_ms", [r["exec_to_ready_ms"] for r in cr],
                            peaks, "driver: exec to READY, process start included"))
            used = [r["device_used_mib"] for r in cr]
            if all(isinstance(u, (int, float)) for u in used):
                rows.append(row("cold", model, prec, cfg, "device_used_mib", used, peaks,
                                "whole process on the device: context, modules, pool"))
            else:
                rows.append(na_row("cold", model, prec, cfg, "device_used_mib", str(used[0])))
            first[(loading, bench)] = statistics.median([r["steps"]["forward1_ms"] for r in cr])
        for loading in ("lazy", "eager"):
            if (loading, 1) in first and (loading, 0) in first:
                rows.append(row("cold", model, prec, f"loading={loading}", "autotune_ms",
                                [first[(loading, 1)] - first[(loading, 0)]], (),
                                "forward1 with cuDNN benchmark minus without"))
    # The self-test: verdict and difference per model and precision, and what it adds to ready
    # (exec-to-ready with the probe's self-test as the first pass minus with a zeros warm-up).
    for kind, model, prec in [k for k in keys if k[0] == "selftest"]:
        rs = [r for r in ok if (r["kind"], r["model_name"], r["precision"]) == (kind, model, prec)]
        checked = [r for r in rs if r.get("check") == 1]
        zeros = [r for r in rs if r.get("check") == 0]
        for r in checked:
            t = r["self_test"]
            verdict = "passed" if t["passed"] else "FAILED: " + t["reason"][:160]
            diff = t["max_difference"]
            rows.append(row("selftest", model, prec, "probe first", "max_difference",
                            [diff if diff is not None else float("nan")], (),
                            f"{verdict} (tolerance {t['tolerance']})"))
        for label, group in (("probe first", checked), ("zeros first", zeros)):
            if group:
                rows.append(row("selftest", model, prec, label, "first_pass_ms",
                                [r["steps"]["first_pass_ms"] for r in group]))
                rows.append(row("selftest", model, prec, label, "exec_to_ready_ms",
                                [r["exec_to_ready_ms"] for r in group], (), "driver: exec to READY"))
        if checked and zeros:
            added = (statistics.median([r["exec_to_ready_ms"] for r in checked])
                     - statistics.median([r["exec_to_ready_ms"] for r in zeros]))
            rows.append(row("selftest", model, prec, "probe - zeros", "added_to_ready_ms", [added], (),
                            "target: none beyond the warm-up pass it replaces"))
    # CUDA graph against the plain forward at batch 1.
    for kind, model, prec in [k for k in keys if k[0] == "graph"]:
        rs = [r for r in ok if (r["kind"], r["model_name"], r["precision"]) == (kind, model, prec)]
        rows.append(row("graph", model, prec, "batch=1 plain", "forward_ms",
                        [r["plain"]["forward_ms"]["median"] for r in rs], [r["plain"]["peak"] for r in rs]))
        graphs = [r["graph"] for r in rs]
        if all(isinstance(g, str) for g in graphs):
            rows.append(na_row("graph", model, prec, "batch=1 cuda-graph", "forward_ms", graphs[0]))
            continue
        gs = [g for g in graphs if isinstance(g, dict)]
        plain = statistics.median([r["plain"]["forward_ms"]["median"] for r in rs])
        graph = statistics.median([g["forward_ms"]["median"] for g in gs])
        rows.append(row("graph", model, prec, "batch=1 cuda-graph", "forward_ms",
                        [g["forward_ms"]["median"] for g in gs], [g["peak"] for g in gs],
                        f"x{graph / plain:.2f} of plain"))
        rows.append(row("graph", model, prec, "batch=1 cuda-graph", "capture_ms", [g["capture_ms"] for g in gs]))
        rows.append(row("graph", model, prec, "batch=1 cuda-graph", "max_abs_diff",
                        [g["max_abs_diff_vs_plain"] for g in gs], (), "graph output vs plain forward"))
    return rows


def compare_rows(summary):
    rows = []
    for key, s in summary.items():
        impl, prec = key.split("/")
        if "exec_to_ready_ms" not in s:
            rows.append(na_row("compare", "inspyrenet", prec, impl, "error", f"{s.get('errors')} failed runs"))
            continue
        for metric in ("exec_to_ready_ms", "model_loaded_ms", "steady_forward_ms"):
            m = s[metric]
            rows.append({"section": "compare", "model": "inspyrenet", "precision": prec, "configuration": impl,
                         "metric": metric, "stats": {k: m[k] for k in ("median", "min", "max", "n")},
                         "peak": "", "note": ""})
    return rows


def pipeline_rows(report):
    """The device half of a request per image size (engine-bench --pipeline-megapixels)."""
    if "error" in report:
        return [na_row("pipeline", os.path.basename(report.get("model", "")), report.get("precision", ""),
                       "", "error", report["error"][:120])]
    rows = []
    model = os.path.basename(report.get("model", ""))
    for size in report.get("pipeline", []):
        for source in ("pageable", "pinned"):
            if source not in size:
                continue
            config = f"{size['width']}x{size['height']} {source}"
            for metric in ("preprocess_ms", "forward_ms", "mask_resize_ms", "total_ms"):
                if metric in size[source]:
                    rows.append(row("pipeline", model, report.get("precision", ""), config, metric,
                                    [size[source][metric]], note="median of 5"))
    return rows


def last_json_line(path):
    with open(path) as f:
        lines = [line for line in f if line.strip().startswith("{")]
    return json.loads(lines[-1]) if lines else None


def fmt(v):
    return f"{v:.4g}" if abs(v) < 1 else f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"


def render(rows):
    table = [COLUMNS]
    for r in rows:
        s = r["stats"]
        table.append([r["section"], r["model"], r["precision"], r["configuration"], r["metric"],
                      fmt(s["median"]) if s else "n/a", f"{fmt(s['min'])}..{fmt(s['max'])}" if s else "",
                      str(s["n"]) if s else "", r["peak"], r["note"]])
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1]
                     for line in table).rstrip() + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="the folder with probe.json / compare.json")
    p.add_argument("--require", default="",
                   help="comma-separated sections that must have rows, and no error rows anywhere "
                        "(the CPU dry run's check)")
    a = p.parse_args()
    rows = []
    sources = {}
    for name, make in (("probe.json", lambda d: probe_rows(d["runs"])),
                       ("compare.json", lambda d: compare_rows(d["summary"]))):
        path = os.path.join(a.out, name)
        if os.path.isfile(path):
            with open(path) as f:
                rows += make(json.load(f))
            sources[name] = True
        else:
            sources[name] = False
    pipeline_path = os.path.join(a.out, "pipeline.json")
    report = last_json_line(pipeline_path) if os.path.isfile(pipeline_path) else None
    sources["pipeline.json"] = report is not None
    if report is not None:
        rows += pipeline_rows(report)
    text = render(rows)
    with open(os.path.join(a.out, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"columns": COLUMNS, "sources": sources, "rows": rows}, f, indent=1)
    sys.stdout.write(text)
    problems = [f"no {sec} rows" for sec in filter(None, a.require.split(","))
                if not any(r["section"] == sec and r["stats"] for r in rows)]
    if a.require:
        problems += [f"error row: {r['section']} {r['model']} {r['configuration']}: {r['note']}"
                     for r in rows if r["metric"] == "error"]
    for problem in problems:
        print(f"summary: {problem}", file=sys.stderr)
    return 0 if rows and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
