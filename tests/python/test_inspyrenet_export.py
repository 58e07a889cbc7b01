"""models/export.py inspyrenet: a 384 random-init export round trip, and checkpoint refusal.

The round trip runs the real command line twice (fp16 weights with cutout.json; fp32 weights with
--no-metadata; each export is a calibration pass and a trace at 384), then runs the files three
times (float32, fp16-stored as float32, float64): about 2-3 minutes on 2 CPU cores.
  * cutout.json present and correct in one file (with the FP16 check's verdict), absent from the
    other; the golden probe's answer is the file's own FP32 answer, and cutout-server's self-test
    passes on it (CUTOUT_SERVER, one 384 forward on the CPU);
  * the fp16 file holds float16 weights, float32 BatchNorm statistics, int64 indices;
  * the fp16 file converted to float32 gives the fp32 file's output within fp16 rounding;
  * batch 2 through the batch-1 trace equals two batch-1 runs (tight float32 tolerance);
  * dtype-agnostic trace: every tensor of the module cast to float64 the way LibTorch's
    Module::to(dtype) does it (integer buffers included) runs a float64 input and returns float64
    close to the float32 result, so no float32 constant or fixed dtype is baked into the graph.

Environment: CUTOUT_PYTHON (default: this interpreter) runs the exporter; CUTOUT_TEST_WORK (default:
a temporary directory, removed afterwards) receives the files.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import torch  # noqa: E402

from models import cutout_meta, fp16_check, golden  # noqa: E402
from models.inspyrenet import InSPyReNetSwinB  # noqa: E402
from models.inspyrenet.export import check_state_dict, load_checkpoint, CheckpointError, normalise, synthetic_image  # noqa: E402

PYTHON = os.environ.get("CUTOUT_PYTHON", sys.executable)
SERVER = os.environ.get("CUTOUT_SERVER", os.path.join(REPO, "build", "cutout-server"))
EXPORT = os.path.join(REPO, "models", "export.py")


def run_export(*args):
    return subprocess.run([PYTHON, EXPORT, "inspyrenet", *args], cwd=REPO, capture_output=True, text=True)


class _WorkDir:
    """A fresh directory per test class (under CUTOUT_TEST_WORK when set), removed afterwards."""

    @classmethod
    def make_work(cls, prefix):
        base = os.environ.get("CUTOUT_TEST_WORK") or None
        if base:
            os.makedirs(base, exist_ok=True)
        cls.work = tempfile.mkdtemp(prefix=prefix, dir=base)

    @classmethod
    def drop_work(cls):
        shutil.rmtree(cls.work, ignore_errors=True)


class ExportRoundTripTest(_WorkDir, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.make_work("cutout-export-")
        cls.f16 = os.path.join(cls.work, "inspyrenet-384-fp16.pt")
        cls.f32 = os.path.join(cls.work, "inspyrenet-384-fp32-plain.pt")
        for out, extra in ((cls.f16, []), (cls.f32, ["--weights", "fp32", "--no-metadata"])):
            r = run_export("--random-init", "0", "--size", "384", "--out", out, *extra)
            if r.returncode != 0:
                raise AssertionError(f"export failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        cls.x = normalise(synthetic_image(384, 384, seed=5))
        with torch.no_grad():
            cls.y32 = torch.jit.load(cls.f32, map_location="cpu").eval()(cls.x)
            cls.y16 = torch.jit.load(cls.f16, map_location="cpu").float().eval()(cls.x)

    @classmethod
    def tearDownClass(cls):
        cls.drop_work()

    def test_metadata(self):
        meta = cutout_meta.read_metadata(self.f16)
        # The export's FP16 check on the weights it exported (models/fp16_check.py): its verdict.
        check = meta.pop("fp16_check")
        self.assertEqual(check["images"], 2)
        self.assertEqual([n + ".inner" for n in check["fp32_modules"]], meta.get("fp32_modules", []))
        self.assertLess(check["max_abs_activation"], fp16_check.HEADROOM_LIMIT, check["largest"])
        self.assertIsNotNone(check["emulated_fp16_max_diff"])
        self.assertLess(check["emulated_fp16_max_diff"], 0.1)
        self.assertEqual(check["verdict"], "fp16 safe")
        self.assertEqual(meta, {
            "format": 1, "name": "inspyrenet-swinb", "mode": "fast",
            "input": {"width": 384, "height": 384, "channel_order": "RGB",
                      "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            "output": {"index": 0, "activation": "none"},
            "weights_dtype": "float16"})

    def test_no_metadata(self):
        self.assertIsNone(cutout_meta.read_metadata(self.f32))
        self.assertIsNone(golden.read_golden(self.f32))

    def test_golden_is_the_fp16_files_fp32_answer_on_the_probe(self):
        g = golden.read_golden(self.f16)
        self.assertEqual((g["grid"], g["output_size"]), ([64, 64], [384, 384]))
        meta = cutout_meta.read_metadata(self.f16)
        m = torch.jit.load(self.f16, map_location="cpu").float().eval()
        again = golden.make_golden(m, meta)
        self.assertLess(max(abs(a - b) for a, b in zip(again["values"], g["values"])), 1e-5)

    @unittest.skipUnless(os.access(SERVER, os.X_OK), f"no cutout-server binary at {SERVER}")
    def test_server_self_test_passes_on_the_cpu(self):
        # The export's golden through the server's own preprocessing and engine (one 384 forward).
        sys.path.insert(0, os.path.join(REPO, "bench", "quality"))
        import pipeline
        import json
        import urllib.request
        with pipeline.start_server(SERVER, self.f16, device="cpu", warmup_runs=1,
                                   log_path=os.path.join(self.work, "server.log")) as url:
            with urllib.request.urlopen(url + "/health", timeout=30) as r:
                t = json.loads(r.read())["self_test"]
        self.assertEqual(t["status"], "passed", t)
        self.assertLess(t["max_difference"], 1e-3, t)

    def test_stored_dtypes(self):
        m16 = torch.jit.load(self.f16, map_location="cpu")
        tensors = dict(m16.named_parameters())
        tensors.update(dict(m16.named_buffers()))
        self.assertEqual(tensors["backbone.patch_embed.proj.weight"].dtype, torch.float16)
        self.assertEqual(tensors["attention0.threshold"].dtype, torch.float16)
        self.assertEqual(tensors["context1.branch0.bn.running_var"].dtype, torch.float32)
        self.assertEqual(tensors["backbone.layers.0.blocks.0.attn.relative_position_index"].dtype, torch.int64)
        m32 = torch.jit.load(self.f32, map_location="cpu")
        self.assertTrue(all(p.dtype == torch.float32 for p in m32.parameters()))
        self.assertLess(os.path.getsize(self.f16), 0.55 * os.path.getsize(self.f32))

    def test_output(self):
        for y in (self.y32, self.y16):
            self.assertEqual(tuple(y.shape), (1, 1, 384, 384))
            self.assertEqual(y.dtype, torch.float32)
            self.assertTrue(torch.isfinite(y).all())
            self.assertAlmostEqual(float(y.min()), 0.0, places=5)
            self.assertGreater(float(y.max()), 0.999)
        # the random model is not degenerate: a real spread of values, not a binary speckle
        self.assertGreater(float(self.y32.std()), 0.1)
        self.assertGreater(float(((self.y32 > 0.05) & (self.y32 < 0.95)).float().mean()), 0.05)

    def test_fp16_file_matches_fp32_within_rounding(self):
        d = (self.y16 - self.y32).abs()
        self.assertLess(float(d.max()), 0.06)
        self.assertLess(float(d.mean()), 0.002)

    def test_batch_of_two_equals_two_single_runs(self):
        # The file is traced at batch 1; a server batching requests (and the GPU benchmark's batch
        # sweep) runs it at batch N. A batch size taken as a constant in the trace (int() of a
        # shape, a literal 1 in a view) would fail or mix the images; a whole-batch min-max would
        # make each mask depend on the other image.
        m = torch.jit.load(self.f32, map_location="cpu").eval()
        x2 = normalise(synthetic_image(384, 384, seed=6))
        with torch.no_grad():
            y2 = m(x2)
            both = m(torch.cat([self.x, x2]))
        self.assertEqual(tuple(both.shape), (2, 1, 384, 384))
        self.assertLess(float((both[0:1] - self.y32).abs().max()), 5e-5)
        self.assertLess(float((both[1:2] - y2).abs().max()), 5e-5)
        self.assertGreater(float((y2 - self.y32).abs().max()), 0.1)  # two different masks

    def test_graph_has_no_device_or_tensor_constants(self):
        # A device literal or a non-scalar tensor constant in the graph would stay on the CPU (or
        # in float32) when the server moves the module to CUDA / float16; the float64 run below
        # cannot see a device problem, the graph can.
        graph = torch.jit.load(self.f16, map_location="cpu").inlined_graph
        for node in graph.nodes():
            if node.kind() != "prim::Constant":
                continue
            out = node.output()
            self.assertNotEqual(str(out.type()), "Device", str(node))
            if out.type().isSubtypeOf(torch._C.TensorType.get()):
                self.assertEqual(node.t("value").dim(), 0, str(node))

    def test_trace_is_dtype_agnostic(self):
        m = torch.jit.load(self.f16, map_location="cpu").eval()
        with torch.no_grad():
            for _, t in list(m.named_parameters()) + list(m.named_buffers()):
                t.data = t.data.to(torch.float64)  # as LibTorch's Module::to(kDouble): all tensors
            y64 = m(self.x.double())
        self.assertEqual(y64.dtype, torch.float64)
        self.assertLess(float((y64 - self.y16.double()).abs().max()), 1e-4)


class CheckpointRefusalTest(_WorkDir, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.make_work("cutout-ckpt-")
        cls.expected = InSPyReNetSwinB(384).state_dict()

    @classmethod
    def tearDownClass(cls):
        cls.drop_work()

    def test_renamed_key(self):
        sd = dict(self.expected)
        sd["context2.branch1.Hattn.gama"] = sd.pop("context2.branch1.Hattn.gamma")
        msg = check_state_dict(self.expected, sd)
        self.assertIn("missing key 'context2.branch1.Hattn.gamma'", msg)
        self.assertIn("unexpected key 'context2.branch1.Hattn.gama'", msg)

    def test_changed_shape(self):
        sd = dict(self.expected)
        sd["decoder.conv1.conv.weight"] = torch.zeros(64, 191, 3, 3)
        msg = check_state_dict(self.expected, sd)
        self.assertIn("'decoder.conv1.conv.weight' has shape [64, 191, 3, 3]", msg)
        self.assertIn("[64, 192, 3, 3]", msg)

    def test_first_difference_in_architecture_order(self):
        sd = dict(self.expected)
        del sd["attention2.threshold"]
        del sd["backbone.norm3.bias"]
        self.assertIn("missing key 'backbone.norm3.bias'", check_state_dict(self.expected, sd))

    def test_not_a_state_dict(self):
        self.assertIn("wrapped", check_state_dict(self.expected, {"state_dict": dict(self.expected)}))
        self.assertIn("not a state dict", check_state_dict(self.expected, [1, 2]))

    def test_matching_state_dict_loads(self):
        self.assertIsNone(check_state_dict(self.expected, self.expected))

    def test_command_line_refuses_tiny_doctored_checkpoint(self):
        path = os.path.join(self.work, "doctored.pth")
        torch.save({"backbone.patch_embed.proj.weight": torch.zeros(128, 3, 4, 4),
                    "backbone.patch_embed.proj.bais": torch.zeros(128)}, path)
        out = os.path.join(self.work, "never.pt")
        r = run_export("--checkpoint", path, "--size", "384", "--out", out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing key 'backbone.patch_embed.proj.bias'", r.stderr)
        self.assertIn("unexpected key 'backbone.patch_embed.proj.bais'", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_command_line_refuses_non_checkpoint(self):
        path = os.path.join(self.work, "garbage.pth")
        with open(path, "wb") as f:
            f.write(b"this is not a checkpoint")
        r = run_export("--checkpoint", path, "--size", "384", "--out", os.path.join(self.work, "x.pt"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot read", r.stderr)

    def test_load_checkpoint_strict_roundtrip(self):
        torch.manual_seed(3)
        src = InSPyReNetSwinB(384)
        path = os.path.join(self.work, "full.pth")
        torch.save(src.state_dict(), path)
        dst = load_checkpoint(InSPyReNetSwinB(384), path)
        for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
            self.assertTrue(torch.equal(a, b), k)
        os.remove(path)
        sd = src.state_dict()
        sd["attention0.conv_out4.conv.weight"] = torch.zeros(2, 64, 1, 1)
        torch.save(sd, path)
        with self.assertRaises(CheckpointError) as cm:
            load_checkpoint(InSPyReNetSwinB(384), path)
        self.assertIn("attention0.conv_out4.conv.weight", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
