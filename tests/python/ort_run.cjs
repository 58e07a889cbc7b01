// Independent reference for the IS-Net conversion: run an ONNX file with onnxruntime-node.
//
//   node tests/python/ort_run.cjs ORT_MODULE_DIR MODEL.onnx INPUT.f32 OUTPUT.f32 [N,C,H,W]
//
// INPUT.f32 holds the float32 input tensor (little-endian, NCHW, default shape 1,3,1024,1024) fed
// to the graph input named "input"; the graph output named "output" is written to OUTPUT.f32 as
// raw float32. One line of JSON (runtime version, timings, output shape) goes to stdout.
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
  const [ortDir, modelPath, inputPath, outputPath, shapeArg] = process.argv.slice(2);
  if (!outputPath) {
    console.error("usage: ort_run.cjs ORT_MODULE_DIR MODEL.onnx INPUT.f32 OUTPUT.f32 [N,C,H,W]");
    process.exit(2);
  }
  const ort = require(path.resolve(ortDir));
  const shape = (shapeArg || "1,3,1024,1024").split(",").map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const buf = fs.readFileSync(inputPath);
  if (buf.length !== count * 4) {
    throw new Error(`${inputPath}: ${buf.length} bytes, expected ${count * 4} for shape ${shape}`);
  }
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  let t0 = Date.now();
  const session = await ort.InferenceSession.create(path.resolve(modelPath), {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  const loadMs = Date.now() - t0;
  t0 = Date.now();
  const result = await session.run({ input: new ort.Tensor("float32", data, shape) }, ["output"]);
  const runMs = Date.now() - t0;
  const out = result.output;
  if (out.type !== "float32") throw new Error(`output type ${out.type}, expected float32`);
  fs.writeFileSync(outputPath, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  const pkg = JSON.parse(fs.readFileSync(path.join(path.resolve(ortDir), "package.json"), "utf8"));
  console.log(JSON.stringify({ onnxruntime_node: pkg.version, load_ms: loadMs, run_ms: runMs, dims: out.dims }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
