"""Does a model survive FP16? Per-module activation ranges and FP16 rounding, measured in float32.

Debian's LibTorch has no half convolutions on the CPU, so FP16 is emulated: the model runs in
float32 and forward hooks record, for every module, the largest |activation| of its output and
what rounding that output to float16 does to it (overflow to inf beyond 65504, flush to zero below
2^-24, relative error). A second pass rounds *every* module's output to float16 on the way (the
error a float16 run accumulates, weights aside) and measures the final answer's difference from
float32. The decision (``decide``):

* a module whose output reaches HEADROOM_LIMIT (half of float16's largest finite value) is kept
  in float32 in the exported graph: an FP32 island (``wrap_fp32_islands``), listed in cutout.json's
  ``fp32_modules`` so the server's precision conversion leaves its weights alone;
* a module whose output loses precision to float16 as a whole, that is whose largest value sits
  in float16's subnormal range so that rounding errs by more than LOSSY_LIMIT of it, is kept in
  float32 too. Small values flushed to zero next to large ones (a softmax's far tail) are only
  reported (``underflow_share``): next to the large ones they weigh nothing;
* the emulated end-to-end difference, with the islands kept in float32, is the export's verdict.

Used by models/inspyrenet/export.py on the checkpoint it exports (the verdict goes into
cutout.json as ``fp16_check``) and by models/inspyrenet/fp16_report.py (the committed report).
"""
import torch

FP16_MAX = 65504.0
FP16_TINY = 2.0 ** -24      # the smallest subnormal; below half of it a value rounds to zero
HEADROOM_LIMIT = FP16_MAX / 2  # a module this close to the range has no margin for another input
LOSSY_LIMIT = 0.01          # rounding error relative to the output's largest value (normal range: 2^-11)


def _tensors(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return []


def _round_fp16(out):
    if isinstance(out, torch.Tensor):
        return out.half().float() if out.is_floating_point() else out
    if isinstance(out, tuple):
        return tuple(_round_fp16(o) for o in out)
    if isinstance(out, list):
        return [_round_fp16(o) for o in out]
    return out


def _leaf_names(model):
    """Modules that compute (no children): the units an FP32 island is made of, and those whose
    output a float16 run stores."""
    return [name for name, m in model.named_modules() if name and not list(m.children())]


def measure(model, inputs, output_of=lambda y: y):
    """Runs ``model`` (float32, eval) on each input with hooks on every leaf module. Returns
    {"modules": {name: {"max_abs", "overflow", "underflow_share", "rel_round_error", "calls"}},
    "reference": [float32 answers]} (max over inputs and calls)."""
    stats, hooks = {}, []
    modules = dict(model.named_modules())

    def hook_for(name):
        def hook(_module, _inputs, out):
            s = stats.setdefault(name, {"max_abs": 0.0, "overflow": 0, "underflow_share": 0.0,
                                        "rel_round_error": 0.0, "calls": 0})
            for t in _tensors(out):
                if not t.is_floating_point() or t.numel() == 0:
                    continue
                t = t.detach().float()
                a = t.abs()
                m = float(a.max())
                s["max_abs"] = max(s["max_abs"], m)
                s["overflow"] += int((a > FP16_MAX).sum())
                nonzero = a > 0
                if int(nonzero.sum()):
                    lost = (nonzero & (a < FP16_TINY / 2)).sum()
                    s["underflow_share"] = max(s["underflow_share"], float(lost) / float(nonzero.sum()))
                if m > 0 and m <= FP16_MAX:
                    err = float((t - t.half().float()).abs().max()) / m
                    s["rel_round_error"] = max(s["rel_round_error"], err)
            s["calls"] += 1
        return hook

    for name in _leaf_names(model):
        hooks.append(modules[name].register_forward_hook(hook_for(name)))
    refs = []
    try:
        with torch.no_grad():
            for x in inputs:
                refs.append(output_of(model(x)).float())
    finally:
        for h in hooks:
            h.remove()
    return {"modules": stats, "reference": refs}


def emulate(model, inputs, keep_fp32=(), output_of=lambda y: y):
    """The answers with every leaf module's output rounded to float16 (those in ``keep_fp32`` and
    their descendants excepted). Input rounded too, as a float16 run receives it."""
    hooks = []
    kept = tuple(keep_fp32)
    for name in _leaf_names(model):
        if any(name == k or name.startswith(k + ".") for k in kept):
            continue
        m = dict(model.named_modules())[name]
        hooks.append(m.register_forward_hook(lambda _m, _i, out: _round_fp16(out)))
    outs = []
    try:
        with torch.no_grad():
            for x in inputs:
                outs.append(output_of(model(x.half().float())).float())
    finally:
        for h in hooks:
            h.remove()
    return outs


def decide(stats):
    """(modules to keep in float32, why per module)."""
    keep, why = [], {}
    for name, s in stats.items():
        if s["max_abs"] >= HEADROOM_LIMIT or s["overflow"]:
            keep.append(name)
            why[name] = f"max |activation| {s['max_abs']:.4g} >= {HEADROOM_LIMIT:.0f}"
        elif s["rel_round_error"] > LOSSY_LIMIT:
            keep.append(name)
            why[name] = (f"float16 rounding errs by {100 * s['rel_round_error']:.1f}% of its largest value "
                         f"{s['max_abs']:.3g} (subnormal range)")
    return keep, why


def difference(a_list, b_list):
    """Largest |a - b| over all answers (inf when one holds NaN/Inf and the other does not)."""
    worst = 0.0
    for a, b in zip(a_list, b_list):
        if not torch.isfinite(a).all() or not torch.isfinite(b).all():
            return float("inf")
        worst = max(worst, float((a - b).abs().max()))
    return worst


def pooled_difference(a_list, b_list, grid=64):
    """The self-test's metric (src/engine/golden.cpp): largest difference of the area means on a
    grid of at most 64 x 64 (inf when one answer is not finite)."""
    import torch.nn.functional as F
    worst = 0.0
    for a, b in zip(a_list, b_list):
        if not torch.isfinite(a).all() or not torch.isfinite(b).all():
            return float("inf")
        size = (min(grid, a.shape[-2]), min(grid, a.shape[-1]))
        worst = max(worst, float((F.adaptive_avg_pool2d(a, size) - F.adaptive_avg_pool2d(b, size)).abs().max()))
    return worst


def check(model, inputs, output_of=lambda y: y):
    """The whole check on a float32 model: measure, decide, emulate with and without islands.
    Returns a JSON-able verdict (``fp32_modules`` is the islands' list)."""
    measured = measure(model, inputs, output_of)
    keep, why = decide(measured["modules"])
    emulated = emulate(model, inputs, (), output_of)
    plain = difference(measured["reference"], emulated)
    pooled = pooled_difference(measured["reference"], emulated)
    mixed = difference(measured["reference"], emulate(model, inputs, keep, output_of)) if keep else plain
    top = sorted(measured["modules"].items(), key=lambda kv: -kv[1]["max_abs"])[:5]
    return {
        "images": len(inputs),
        "max_abs_activation": max((s["max_abs"] for s in measured["modules"].values()), default=0.0),
        "largest": [{"module": n, "max_abs": round(s["max_abs"], 4)} for n, s in top],
        "fp32_modules": keep,
        "why": why,
        "emulated_fp16_max_diff": plain,
        "emulated_fp16_pooled_diff": pooled,
        "emulated_mixed_max_diff": mixed,
        "stats": measured["modules"],
    }


class Fp32Island(torch.nn.Module):
    """Runs ``inner`` in float32 whatever the caller's dtype and answers in the caller's dtype.
    ``x.float()`` traces as a cast to a constant float32 and ``type_as(x)`` as a cast to x's
    run-time dtype, so the traced graph is right at any precision as long as the server keeps the
    inner weights float32 (cutout.json's fp32_modules names ``<path>.inner``)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x.float()).type_as(x)


def wrap_fp32_islands(model, names):
    """Replaces each named module by an Fp32Island around it, in place. Returns the paths that
    cutout.json's fp32_modules must list (``<name>.inner``)."""
    out = []
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Fp32Island(getattr(parent, child)))
        out.append(name + ".inner")
    return out
