"""Read IS-Net weights out of an ONNX export, and make an FP32 twin of an FP16 ONNX graph.

The published graph (onnxconverter float16 style) is not topologically sorted, so onnx.checker
rejects it; nothing here uses the checker or an ONNX runtime: the initialisers are read directly
and tied to our module through the Conv nodes that consume them.

Mapping rule, per Conv node that the requested output depends on:
  module path = the node's name without the trailing op ("/stage1/rebnconvin/conv_s1/Conv" ->
  "stage1.rebnconvin.conv_s1"); where the name does not name one of our convolutions, the weight
  initialiser's name is tried ("side1.weight" -> "side1").
The weight and bias inputs are followed back through Cast/Identity nodes to an initialiser or a
Constant, and every Cast on the way is applied to the value, so the tensor we load is the tensor
the graph computes with. Kernel size, stride, padding, dilation and groups are compared with our
nn.Conv2d; any mismatch, any of our convolutions left unfilled, any convolution filled twice, and
any Conv the output depends on that maps nowhere is an error. Conv nodes the output does not depend
on (the deep-supervision side heads) are reported as skipped.
"""
import numpy as np

ONNX_FLOAT = 1
ONNX_FLOAT16 = 10
ONNX_DOUBLE = 11
_NUMPY_OF = {ONNX_FLOAT: np.float32, ONNX_FLOAT16: np.float16, ONNX_DOUBLE: np.float64}


class MappingError(RuntimeError):
    pass


def load_model(path):
    import onnx
    return onnx.load(path)


def _producers(graph):
    prod = {}
    for node in graph.node:
        for out in node.output:
            if out:
                prod[out] = node
    return prod


def ancestors(graph, output_name):
    """Names of the nodes (by index) that output_name depends on."""
    prod = _producers(graph)
    if output_name not in prod:
        raise MappingError(f"the graph has no node producing {output_name!r}; outputs: "
                           f"{[o.name for o in graph.output]}")
    seen, stack = set(), [output_name]
    index = {id(n): i for i, n in enumerate(graph.node)}
    while stack:
        name = stack.pop()
        node = prod.get(name)
        if node is None or index[id(node)] in seen:
            continue
        seen.add(index[id(node)])
        stack.extend(i for i in node.input if i)
    return seen


def _resolve_tensor(name, inits, prod):
    """Follow name back through Cast/Identity to stored data; apply the casts.

    Returns (array, (description, stored dtype name)).
    """
    from onnx import numpy_helper, helper
    casts = []
    while True:
        if name in inits:
            arr = numpy_helper.to_array(inits[name])
            src, stored = f"initialiser {name!r} ({arr.dtype})", arr.dtype.name
            break
        node = prod.get(name)
        if node is None:
            raise MappingError(f"tensor {name!r} is neither an initialiser nor produced by a node")
        if node.op_type == "Constant":
            arr = numpy_helper.to_array(node.attribute[0].t)
            src, stored = f"Constant {node.name!r} ({arr.dtype})", arr.dtype.name
            break
        if node.op_type == "Identity":
            name = node.input[0]
            continue
        if node.op_type == "Cast":
            to = helper.get_attribute_value(next(a for a in node.attribute if a.name == "to"))
            if to not in _NUMPY_OF:
                raise MappingError(f"Cast {node.name!r} to ONNX type {to} is not a float type")
            casts.append(_NUMPY_OF[to])
            name = node.input[0]
            continue
        raise MappingError(f"weight tensor {name!r} comes from a {node.op_type} node ({node.name!r}); "
                           "only initialisers, Constants, Cast and Identity are understood")
    for dtype in reversed(casts):  # innermost cast first
        arr = arr.astype(dtype)
    note = src + "".join(f" -> Cast({np.dtype(d).name})" for d in reversed(casts))
    return arr, (note, stored)


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def conv_tensors(model, output_name="output"):
    """Every Conv node of the graph: (candidate module paths, weight, bias, attributes, needed)."""
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    prod = _producers(graph)
    needed = ancestors(graph, output_name)
    convs = []
    for i, node in enumerate(graph.node):
        if node.op_type != "Conv":
            continue
        if len(node.input) < 2:
            raise MappingError(f"Conv {node.name!r} has no weight input")
        weight, wnote = _resolve_tensor(node.input[1], inits, prod)
        bias, bnote = (None, None)
        if len(node.input) > 2 and node.input[2]:
            bias, bnote = _resolve_tensor(node.input[2], inits, prod)
        candidates = []
        if node.name:
            parts = [p for p in node.name.strip("/").split("/") if p]
            if len(parts) >= 2:
                candidates.append(".".join(parts[:-1]))
        if node.input[1].endswith(".weight"):
            candidates.append(node.input[1][: -len(".weight")])
        convs.append({"node": node.name or f"#{i}", "candidates": candidates, "weight": weight,
                      "bias": bias, "notes": (wnote, bnote), "attrs": _attrs(node),
                      "needed": i in needed})
    return convs


def _check_attrs(path, conv, attrs):
    """Compare ONNX Conv attributes with an nn.Conv2d; return a list of mismatches."""
    problems = []
    kh, kw = conv.kernel_size
    want = {
        "kernel_shape": [kh, kw],
        "strides": list(conv.stride),
        "dilations": list(conv.dilation),
        "group": conv.groups,
        "pads": [conv.padding[0], conv.padding[1], conv.padding[0], conv.padding[1]],
    }
    defaults = {"strides": [1, 1], "dilations": [1, 1], "group": 1, "pads": [0, 0, 0, 0]}
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        problems.append(f"{path}: auto_pad={attrs['auto_pad']!r} is not supported")
    for key, value in want.items():
        got = attrs.get(key, defaults.get(key))
        if key == "kernel_shape" and got is None:
            continue  # inferred from the weight, checked by shape below
        mismatch = (list(got) != value) if isinstance(value, list) else (got != value)
        if mismatch:
            problems.append(f"{path}: {key} is {got} in the ONNX graph, {value} in the module")
    return problems


def fill_module(module, model, output_name="output", log=print):
    """Copy the ONNX Conv weights into module's nn.Conv2d layers. Returns a report dict.

    Raises MappingError with every problem listed when anything does not match.
    """
    import torch
    import torch.nn as nn

    ours = {name: m for name, m in module.named_modules() if isinstance(m, nn.Conv2d)}
    filled, skipped, problems, notes = {}, [], [], {}
    for c in conv_tensors(model, output_name):
        path = next((p for p in c["candidates"] if p in ours), None)
        if path is None:
            if c["needed"]:
                problems.append(f"Conv {c['node']!r} (weight {list(c['weight'].shape)}) feeds "
                                f"{output_name!r} but maps to no convolution of the module "
                                f"(tried {c['candidates'] or 'nothing: no usable name'})")
            else:
                skipped.append(c["node"])
            continue
        if not c["needed"]:
            problems.append(f"{path}: Conv {c['node']!r} exists in the graph but {output_name!r} "
                            "does not depend on it, while the module uses it")
        if path in filled:
            problems.append(f"{path}: filled twice (by {filled[path]!r} and {c['node']!r})")
            continue
        conv = ours[path]
        if tuple(c["weight"].shape) != tuple(conv.weight.shape):
            problems.append(f"{path}: weight shape {list(c['weight'].shape)} in the graph, "
                            f"{list(conv.weight.shape)} in the module")
            continue
        if (c["bias"] is None) != (conv.bias is None):
            problems.append(f"{path}: bias {'absent' if c['bias'] is None else 'present'} in the graph, "
                            f"{'absent' if conv.bias is None else 'present'} in the module")
            continue
        if c["bias"] is not None and tuple(c["bias"].shape) != tuple(conv.bias.shape):
            problems.append(f"{path}: bias shape {list(c['bias'].shape)} in the graph, "
                            f"{list(conv.bias.shape)} in the module")
            continue
        problems.extend(_check_attrs(path, conv, c["attrs"]))
        for arr in (c["weight"], c["bias"]):
            if arr is not None and not np.isfinite(arr.astype(np.float64)).all():
                problems.append(f"{path}: non-finite values in the graph's tensor")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(c["weight"].astype(np.float64)).to(conv.weight.dtype))
            if c["bias"] is not None:
                conv.bias.copy_(torch.from_numpy(c["bias"].astype(np.float64)).to(conv.bias.dtype))
        filled[path] = c["node"]
        notes[path] = c["notes"]
    missing = sorted(set(ours) - set(filled))
    for path in missing:
        problems.append(f"{path}: no Conv in the ONNX graph fills it")
    if problems:
        raise MappingError("the ONNX graph does not match the IS-Net module:\n  " + "\n  ".join(problems))
    dtypes = sorted({n[1] for pair in notes.values() for n in pair if n is not None})
    log(f"filled {len(filled)} convolutions ({sum(p.numel() for p in module.parameters()):,} parameters) "
        f"from stored dtype(s) {', '.join(dtypes)}; skipped {len(skipped)} Conv node(s) "
        f"that {output_name!r} does not use: {', '.join(skipped) or 'none'}")
    return {"filled": filled, "skipped": skipped, "stored_dtypes": dtypes, "notes": notes}


def check_io(model, input_name="input", output_name="output", input_shape=(1, 3, 1024, 1024)):
    """Fail clearly when the graph's interface is not the one we convert for."""
    graph = model.graph
    ins = {i.name: i for i in graph.input}
    outs = {o.name: o for o in graph.output}
    if input_name not in ins:
        raise MappingError(f"no graph input named {input_name!r}; inputs: {list(ins)}")
    if output_name not in outs:
        raise MappingError(f"no graph output named {output_name!r}; outputs: {list(outs)}")
    dims = [d.dim_value for d in ins[input_name].type.tensor_type.shape.dim]
    if input_shape is not None and any(d and d != w for d, w in zip(dims, input_shape)):
        raise MappingError(f"input {input_name!r} has shape {dims}, expected {list(input_shape)}")
    return dims


def fp32_twin(model):
    """A copy of an FP16-computing graph that computes the same network in FP32.

    FP16 initialisers and Constants are widened (exactly), Casts to FP16 become Casts to FP32
    (no-ops on FP32 data), FP16 graph inputs/outputs become FP32, and stale value_info is dropped.
    Same nodes, same weights; only the arithmetic precision changes.
    """
    import copy
    from onnx import numpy_helper, helper
    m = copy.deepcopy(model)
    g = m.graph
    for i, t in enumerate(list(g.initializer)):
        if t.data_type == ONNX_FLOAT16:
            g.initializer[i].CopyFrom(numpy_helper.from_array(
                numpy_helper.to_array(t).astype(np.float32), t.name))
    for node in g.node:
        for a in node.attribute:
            if node.op_type == "Cast" and a.name == "to" and a.i == ONNX_FLOAT16:
                a.i = ONNX_FLOAT
            if node.op_type == "Constant" and a.name == "value" and a.t.data_type == ONNX_FLOAT16:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float32)))
    for vi in list(g.input) + list(g.output):
        if vi.type.tensor_type.elem_type == ONNX_FLOAT16:
            vi.type.tensor_type.elem_type = ONNX_FLOAT
    del g.value_info[:]
    return m
