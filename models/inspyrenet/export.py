"""Export InSPyReNet (Swin-B) to a self-describing TorchScript file for cutout-server.

Used through the dispatcher:  /usr/bin/python3 models/export.py inspyrenet --checkpoint CKPT --size 1024 --out FILE.pt

* ``--checkpoint`` takes a transparent-background state dict (ckpt_base.pth, ckpt_fast.pth,
  ckpt_base_nightly.pth); keys and shapes must equal the architecture's, else the export stops and
  names the first difference.
* ``--random-init SEED`` makes a deterministic random model instead (tests, benchmarks), scaled so its
  output spans a useful range (see random_init).
* The model is put in deployment form (``prepare_for_export``: SICA's pooled sums rescaled by a
  power of two, exactly compensated in two BatchNorms, so float16 stays finite), traced on the CPU
  in float32 at ``--size`` (1024: modes base/base-nightly, 384: fast), and its checkpoint weights
  are stored as ``--weights`` (fp16 by default, BatchNorm statistics kept float32; the server
  converts at load). The trace creates no tensor with a fixed dtype or device inside forward and
  casts its integer index back to int64 where used, so ``module.to(device)`` and LibTorch's
  ``module.to(dtype)`` (which converts integer buffers too) apply to all of it.
* ``cutout.json`` (models/cutout_meta.py) is embedded unless ``--no-metadata``, which writes a plain
  trace like transparent-background's own ``jit`` option.
"""
import argparse
import inspect
import os
import sys
import time
import warnings

import torch

from .. import cutout_meta, fp16_check, golden
from .layers import SICA, AxialAttention
from .model import MODE_BY_SIZE, InSPyReNetSwinB

MODEL_NAME = "inspyrenet-swinb"


class CheckpointError(Exception):
    """The checkpoint cannot be used for this architecture."""


# ---------------------------------------------------------------------------------------------
# checkpoints

def _torch_load(path):
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = True
    return torch.load(path, **kwargs)


def _fmt_shape(t):
    return "[" + ", ".join(str(int(s)) for s in t.shape) + "]"


def check_state_dict(expected, given):
    """Compare a checkpoint's state dict with the architecture's. Returns None when keys and shapes
    match, else a message naming the first difference (missing keys in architecture order, then
    unexpected keys in checkpoint order, then shapes)."""
    if not isinstance(given, dict):
        return f"the checkpoint holds a {type(given).__name__}, not a state dict (a mapping of names to tensors)"
    for k, v in given.items():
        if not isinstance(v, torch.Tensor):
            hint = ""
            if k in ("state_dict", "model", "model_state_dict"):
                hint = f" (it looks wrapped: the state dict may be under {k!r})"
            return f"entry {k!r} is a {type(v).__name__}, not a tensor{hint}"
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing key {missing[0]!r} (expected shape {_fmt_shape(expected[missing[0]])})")
    if unexpected:
        problems.append(f"unexpected key {unexpected[0]!r} (shape {_fmt_shape(given[unexpected[0]])})")
    if problems:
        counts = f"{len(missing)} missing, {len(unexpected)} unexpected of {len(expected)} keys"
        return "; ".join(problems) + f" [{counts}]"
    for k, ref in expected.items():
        if tuple(given[k].shape) != tuple(ref.shape):
            return f"key {k!r} has shape {_fmt_shape(given[k])}, the architecture needs {_fmt_shape(ref)}"
        if given[k].is_floating_point() != ref.is_floating_point():
            return f"key {k!r} has dtype {given[k].dtype}, the architecture needs {ref.dtype}"
    return None


def load_checkpoint(model, path):
    """Load a transparent-background checkpoint into ``model`` (strict). Raises CheckpointError."""
    if not os.path.isfile(path):
        raise CheckpointError(f"no such file: {path}")
    try:
        sd = _torch_load(path)
    except Exception as e:  # unpickling refused or not a torch file
        raise CheckpointError(f"cannot read {path} as a PyTorch state dict: {e}") from e
    problem = check_state_dict(model.state_dict(), sd)
    if problem is not None:
        raise CheckpointError(f"{path} does not match InSPyReNet-SwinB: {problem}")
    model.load_state_dict(sd, strict=True)
    return model


# ---------------------------------------------------------------------------------------------
# random initialisation

def synthetic_image(height, width, seed=0):
    """A deterministic, photo-like test picture as a float tensor [1,3,H,W] in [0,1]: a smooth
    background gradient, a few soft-edged coloured ellipses and mild texture."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, height).view(height, 1)
    xs = torch.linspace(0, 1, width).view(1, width)
    img = torch.stack([0.25 + 0.5 * xs.expand(height, width),
                       0.35 + 0.3 * ys.expand(height, width),
                       0.6 - 0.3 * (xs * ys)])
    for _ in range(4):
        cy, cx = torch.rand(2, generator=g) * 0.6 + 0.2
        ry, rx = torch.rand(2, generator=g) * 0.25 + 0.08
        colour = torch.rand(3, generator=g)
        d = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2
        alpha = torch.sigmoid((1 - d) * 12)
        img = img * (1 - alpha) + colour.view(3, 1, 1) * alpha
    img = img + 0.03 * torch.randn(3, height, width, generator=g)
    return img.clamp(0, 1).unsqueeze(0)


def normalise(img):
    mean = torch.tensor(cutout_meta.IMAGENET_MEAN, dtype=img.dtype).view(1, 3, 1, 1)
    std = torch.tensor(cutout_meta.IMAGENET_STD, dtype=img.dtype).view(1, 3, 1, 1)
    return (img - mean) / std


def _calibrate(model, x, logit_std, residual_std, context_gain, attention_gain):
    """One eval-mode pass over ``x`` that sets, just before each BatchNorm runs, its running
    statistics to those of its actual input (data-dependent initialisation, layer by layer), and
    rescales the coarse logits d3 on the way. BatchNorms that see fewer than 16 values per channel
    (SICA's pooled contexts: 3 or 5) are normalised by their second moment instead of mean and
    variance: a variance over so few values is tiny and would blow up on any other image."""
    hooks = []

    def set_stats(bn, inputs):
        t = inputs[0].detach()
        per_channel = t.numel() // t.shape[1]
        dims = [d for d in range(t.dim()) if d != 1]
        if per_channel >= 16:
            mean, var = t.mean(dims), t.var(dims, unbiased=False)
        else:
            mean, var = torch.zeros_like(t.mean(dims)), (t * t).mean(dims)
        # A channel (nearly) silent on this image would be scaled up enormously on the next one.
        floor = 0.1 * float(var.mean()) + 1e-6
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var.clamp_min(floor))

    def scale_logits(conv, inputs, out):
        s = logit_std / float(out.std())
        conv.conv.weight.mul_(s)
        return out * s

    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            hooks.append(m.register_forward_pre_hook(set_stats))
    hooks.append(model.decoder.conv5.register_forward_hook(scale_logits))
    for m in model.modules():
        if isinstance(m, AxialAttention):
            # Logits summed over channels x one image axis (hundreds of unit-scale terms) would make
            # the softmax nearly one-hot and flip with the slightest input change: keep them small.
            for unit in (m.query_conv, m.key_conv):
                unit.bn.weight.data.fill_(attention_gain)
                unit.bn.bias.data.zero_()
    for att in (model.attention0, model.attention1, model.attention2):
        att.conv_out4.bn.weight.data.fill_(residual_std)
        att.conv_out4.bn.bias.data.zero_()
        # SICA's attended context is a sum over the pixels of each region, so its scale follows the
        # region areas of the image at hand; a small gain keeps the random model's scale stable.
        att.conv_out1.bn.weight.data.fill_(context_gain)
        att.conv_out1.bn.bias.data.zero_()
    try:
        with torch.no_grad():
            model.eval()
            model.saliency(x)
    finally:
        for h in hooks:
            h.remove()


def random_init(model, seed, logit_std=3.0, residual_std=0.5, context_gain=0.1, attention_gain=0.15,
                calib_size=None, calibrate=True):
    """Deterministic random weights with a usable output (for tests, benchmarks and the parity test).

    Plain random weights make this network's activations grow by orders of magnitude from layer to
    layer (the final logits reach 1e11 at 384): the sigmoid saturates to a binary speckle, a narrow
    or saturated output lets the min-max normalisation blow tiny numeric differences up to
    full-scale ones, and attention logits of that size turn every softmax into an argmax that
    flips on a one-level input change. So:

    * weights are drawn from ``seed`` (He-normal matrices and kernels, small biases, norm scales 1,
      axial-attention gammas in [0.25, 0.75] so those paths count, thresholds 0.5);
    * every BatchNorm is calibrated layer by layer on a batch of two synthetic pictures (one colour,
      one grey) at ``calib_size`` (default: the model size, at most 512): data-dependent
      initialisation, each normalised activation of unit scale;
    * the axial attentions' query/key get gain ``attention_gain`` and SICA's attended context gain
      ``context_gain`` (its scale follows the region areas of each image), so the function is
      smooth rather than chaotic;
    * the coarse map d3 is scaled to a standard deviation of ``logit_std`` and the three Laplacian
      residuals to ``residual_std``.

    The mask is then a smooth function of the image whose logits span about +-10, so sigmoid(d0)
    covers (0, 1) and the min-max step rescales by a factor near 1. Measured on the parity images:
    a one-level change on a few percent of input pixels moves the logits by about 0.1.
    """
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.copy_(torch.randn(p.shape, generator=g).clamp_(-2, 2) * 0.02)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif name.endswith("gamma"):
                p.fill_(0.25 + 0.5 * float(torch.rand(1, generator=g)))
            elif name.endswith("threshold"):
                p.fill_(0.5)
            elif name.endswith(".weight"):  # norm scales
                p.fill_(1.0)
            else:  # biases
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    if not calibrate:
        return model
    bh, bw = model.base_size
    if calib_size is None:
        calib_size = (min(bh, 512), min(bw, 512))
    # A colourful picture and a grey one: statistics that hold for both kinds of input.
    colour = synthetic_image(calib_size[0], calib_size[1], seed=int(seed))
    grey = synthetic_image(calib_size[0], calib_size[1], seed=int(seed) + 1).mean(1, keepdim=True).expand(1, 3, -1, -1)
    x = normalise(torch.cat([colour, grey]))
    _calibrate(model, x, logit_std, residual_std, context_gain, attention_gain)
    return model


# ---------------------------------------------------------------------------------------------
# export

def metadata(size, weights_dtype, fp32_modules=None):
    return cutout_meta.make_metadata(
        name=MODEL_NAME, width=size, height=size, mean=cutout_meta.IMAGENET_MEAN,
        std=cutout_meta.IMAGENET_STD, channel_order="RGB", output_index=0, activation="none",
        mode=MODE_BY_SIZE.get(size), weights_dtype=weights_dtype, fp32_modules=fp32_modules)


def trace(model, size):
    """Trace ``model`` (float32, CPU, eval) on a [1,3,size,size] input. Returns the ScriptModule."""
    model = model.float().eval()
    example = normalise(synthetic_image(size, size, seed=12345))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return torch.jit.trace(model, example, check_trace=False)


def store_weights_as(traced, eager, dtype):
    """Cast the traced module's checkpoint weights to ``dtype`` (float16: half the file size).

    Kept in float32: BatchNorm running statistics (0.1% of the bytes; a variance below float16's
    normal range would lose its precision), the non-persistent buffers (Gaussian kernel, shift-mask
    labels: exact values) and any tensor that float16 cannot represent finitely. Returns the names
    kept in float32 for that last reason."""
    cast = {k for k, v in eager.state_dict().items()
            if v.is_floating_point() and not k.endswith(("running_mean", "running_var"))}
    overflow = []
    with torch.no_grad():
        for name, t in list(traced.named_parameters()) + list(traced.named_buffers()):
            if name not in cast:
                continue
            converted = t.data.to(dtype)
            if not torch.isfinite(converted).all():
                overflow.append(name)
                continue
            t.data = converted
    return overflow


def prepare_for_export(model):
    """Deployment form of a loaded model: SICA pools with a mean (see SICA.fold_pool_scale), so a
    float16 run stays finite. Changes the model in place (its BatchNorm statistics); export only."""
    for m in model.modules():
        if isinstance(m, SICA):
            m.fold_pool_scale()
    return model


def check_images(size):
    """The FP16 check's inputs at the export size: the golden probe (models/golden.py) and one
    synthetic picture, normalised as the server does."""
    probe = golden.server_input(metadata(size, "float32"))
    return [probe, normalise(synthetic_image(size, size, seed=7))]


def fp16_verdict(model, size):
    """The FP16 check (models/fp16_check.py) on the deployment-form float32 model: returns
    (modules to keep in float32, the verdict recorded in cutout.json as ``fp16_check``)."""
    result = fp16_check.check(model.float().eval(), check_images(size))
    verdict = {k: result[k] for k in ("images", "max_abs_activation", "largest", "fp32_modules", "why",
                                      "emulated_fp16_max_diff", "emulated_fp16_pooled_diff",
                                      "emulated_mixed_max_diff")}
    # JSON for the server's parser: no Infinity/NaN literals (a NaN-producing float16 run is null).
    for key in ("emulated_fp16_max_diff", "emulated_fp16_pooled_diff", "emulated_mixed_max_diff",
                "max_abs_activation"):
        v = verdict[key]
        verdict[key] = round(v, 6) if v == v and abs(v) != float("inf") else None
    verdict["verdict"] = ("fp16 safe" if not result["fp32_modules"] else
                          f"{len(result['fp32_modules'])} module(s) kept in float32")
    return result["fp32_modules"], verdict


def export(model, size, out, weights="fp16", with_metadata=True, fp16_check_enabled=True):
    """Prepare, check FP16, trace and save. Returns the metadata written (None with
    with_metadata=False). ``model`` is modified (prepare_for_export, FP32 islands)."""
    if tuple(model.base_size) != (size, size):
        raise ValueError(f"model built for {model.base_size}, asked to trace at {size}")
    prepare_for_export(model)
    islands, verdict = [], None
    if with_metadata and fp16_check_enabled:
        keep, verdict = fp16_verdict(model, size)
        islands = fp16_check.wrap_fp32_islands(model, keep)
        print(f"fp16 check: {verdict['verdict']}; emulated FP16 max difference "
              f"{verdict['emulated_fp16_max_diff']} (with islands {verdict['emulated_mixed_max_diff']})",
              file=sys.stderr)
    traced = trace(model, size)
    dtype = {"fp16": torch.float16, "fp32": torch.float32}[weights]
    for name in store_weights_as(traced, model, dtype):
        print(f"warning: {name} does not fit in {weights}; stored as float32", file=sys.stderr)
    meta = metadata(size, str(dtype).replace("torch.", ""), islands) if with_metadata else None
    if meta is not None and verdict is not None:
        meta["fp16_check"] = verdict
    os.makedirs(os.path.dirname(os.path.abspath(out)) or ".", exist_ok=True)
    tmp = out + ".partial"
    if meta is not None:
        extra = cutout_meta.extra_files(meta)
        # The probe's FP32 answer of the file as stored, for the server's self-test (models/golden.py).
        extra.update(golden.extra_file(golden.golden_of_scripted(traced, meta)))
        torch.jit.save(traced, tmp, _extra_files=extra)
    else:
        torch.jit.save(traced, tmp)
    os.replace(tmp, out)
    return meta


# ---------------------------------------------------------------------------------------------
# command line (registered by models/export.py)

HELP = "InSPyReNet Swin-B (transparent-background checkpoints), 1024 (base) or 384 (fast)"


def add_arguments(parser):
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", metavar="CKPT.pth",
                     help="transparent-background state dict (ckpt_base.pth, ckpt_fast.pth, ckpt_base_nightly.pth)")
    src.add_argument("--random-init", metavar="SEED", type=int,
                     help="deterministic random weights instead of a checkpoint (tests, benchmarks)")
    parser.add_argument("--size", type=int, choices=sorted(MODE_BY_SIZE), default=1024,
                        help="input size to build and trace at: 1024 for base/base-nightly checkpoints, 384 for fast (default 1024)")
    parser.add_argument("--weights", choices=["fp16", "fp32"], default="fp16",
                        help="dtype of the weights stored in the file (default fp16; the server converts at load)")
    parser.add_argument("--out", required=True, metavar="FILE.pt", help="TorchScript file to write")
    parser.add_argument("--no-metadata", action="store_true",
                        help="write a plain trace without cutout.json, like transparent-background's jit option")


def run(args):
    t0 = time.time()
    torch.manual_seed(0 if args.random_init is None else args.random_init)
    model = InSPyReNetSwinB(args.size).eval()
    if args.checkpoint is not None:
        try:
            load_checkpoint(model, args.checkpoint)
        except CheckpointError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        source = args.checkpoint
    else:
        random_init(model, args.random_init)
        source = f"random init (seed {args.random_init})"
    meta = export(model, args.size, args.out, args.weights, with_metadata=not args.no_metadata)
    mib = os.path.getsize(args.out) / 2 ** 20
    print(f"wrote {args.out}: {MODEL_NAME} {args.size}x{args.size} from {source}, "
          f"{args.weights} weights, {mib:.1f} MiB, "
          f"{'metadata ' + cutout_meta.EXTRA_FILE if meta else 'no metadata'} ({time.time() - t0:.1f} s)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(argv))
