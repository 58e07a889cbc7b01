"""bench/gpu/summary.py on GPU-shaped records: the CPU dry run (gpu_bench_script_cpu) only ever
gives it "n/a" memory and graph entries, so the branches that a GPU run takes (peak figures,
graph timings, device memory, derived gains and autotuning) are checked here on records of the
probe's JSON form. The numbers are made up to check the arithmetic; they are not measurements.

    /usr/bin/python3 -m unittest -v tests/python/test_gpu_summary.py
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUMMARY = os.path.join(ROOT, "bench", "gpu", "summary.py")
sys.path.insert(0, os.path.join(ROOT, "bench", "gpu"))

import summary  # noqa: E402

PEAK = {"allocated_mib": 100.4, "reserved_mib": 200.0}


def sweep(model, ms_by_batch):
    return {"kind": "sweep", "model_name": model, "precision": "fp16", "module_loading": "lazy",
            "cudnn_benchmark_asked": 1, "round": 0,
            "sweep": [{"batch": b, "forward_ms": {"median": ms}, "images_per_s": 1000.0 * b / ms, "peak": PEAK}
                      for b, ms in ms_by_batch.items()]}


def cold(bench, forward1, rnd=0):
    return {"kind": "coldstart", "model_name": "isnet", "precision": "fp16", "module_loading": "lazy",
            "cudnn_benchmark_asked": bench, "round": rnd,
            "steps": {"context_ms": 300.0, "load_ms": 500.0, "to_dtype_ms": 3.0, "forward1_ms": forward1,
                      "ready_ms": 800.0 + forward1, "forward2_ms": 8.0, "steady_ms": {"median": 5.0}},
            "exec_to_ready_ms": 2000.0 + forward1, "peak": PEAK, "device_used_mib": 900.0}


def graph(plain, replay):
    return {"kind": "graph", "model_name": "inspyrenet", "precision": "fp16", "module_loading": "lazy",
            "cudnn_benchmark_asked": 1, "round": 0,
            "plain": {"forward_ms": {"median": plain}, "peak": PEAK},
            "graph": {"forward_ms": {"median": replay}, "capture_ms": 120.0, "max_abs_diff_vs_plain": 0.0,
                      "peak": {"allocated_mib": 150.0, "reserved_mib": 260.0}}}


def find(rows, **kw):
    hits = [r for r in rows if all(r[k] == v for k, v in kw.items())]
    assert len(hits) == 1, (kw, hits)
    return hits[0]


class ProbeRows(unittest.TestCase):
    def setUp(self):
        self.rows = summary.probe_rows([sweep("isnet", {1: 5.0, 2: 8.0, 4: 10.0}), cold(1, 900.0), cold(0, 200.0),
                                        cold(1, 700.0, rnd=1), graph(40.0, 30.0)])

    def test_sweep_gain_over_batch_one(self):
        r = find(self.rows, section="sweep", configuration="batch=4", metric="images_per_s")
        self.assertAlmostEqual(r["stats"]["median"], 400.0)
        self.assertEqual(r["note"], "x2.00 images/s vs batch 1")
        self.assertEqual(r["peak"], "100/200")

    def test_cold_steps_over_rounds_and_autotuning(self):
        r = find(self.rows, section="cold", configuration="loading=lazy cudnn_bench=1", metric="forward1_ms")
        self.assertEqual((r["stats"]["median"], r["stats"]["n"]), (800.0, 2))
        tune = find(self.rows, section="cold", configuration="loading=lazy", metric="autotune_ms")
        self.assertAlmostEqual(tune["stats"]["median"], 600.0)  # median with benchmark minus without
        used = find(self.rows, section="cold", configuration="loading=lazy cudnn_bench=0", metric="device_used_mib")
        self.assertEqual(used["stats"]["median"], 900.0)

    def test_graph_against_plain(self):
        r = find(self.rows, section="graph", configuration="batch=1 cuda-graph", metric="forward_ms")
        self.assertEqual(r["note"], "x0.75 of plain")
        self.assertEqual(r["peak"], "150/260")
        self.assertEqual(find(self.rows, section="graph", metric="max_abs_diff")["stats"]["median"], 0.0)


class CommandLine(unittest.TestCase):
    def run_summary(self, runs, require):
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "probe.json"), "w") as f:
                json.dump({"runs": runs}, f)
            r = subprocess.run([sys.executable, SUMMARY, "--out", out, "--require", require],
                               capture_output=True, text=True)
            with open(os.path.join(out, "summary.json")) as f:
                written = json.load(f)
            with open(os.path.join(out, "summary.txt")) as f:
                self.assertEqual(f.read(), r.stdout)
        return r, written

    def test_writes_table_and_json(self):
        r, written = self.run_summary([sweep("isnet", {1: 5.0, 2: 8.0})], "sweep")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(written["columns"], summary.COLUMNS)
        self.assertTrue(r.stdout.startswith("section"))

    def test_missing_section_or_error_row_fails(self):
        r, _ = self.run_summary([sweep("isnet", {1: 5.0})], "sweep,graph")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no graph rows", r.stderr)
        failed = dict(graph(1.0, 1.0), error="capture failed")
        r, written = self.run_summary([sweep("isnet", {1: 5.0}), failed], "sweep")
        self.assertEqual(r.returncode, 1)
        self.assertIn("capture failed", r.stderr)
        self.assertEqual(find(written["rows"], metric="error")["note"], "capture failed")


if __name__ == "__main__":
    unittest.main()
