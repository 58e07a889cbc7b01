// Validates an OpenAPI document with @apidevtools/swagger-parser: the OpenAPI 3.1 schema and every
// $ref. Exit 0 when valid; 1 with the validator's findings; 2 when the validator is not installed
// (tests/openapi/install.sh, run by scripts/setup.sh --for-tests).
//   node tests/openapi/validate.mjs --parser .cache/npm-openapi web/openapi.json
import { createRequire } from 'node:module';
import path from 'node:path';

const args = process.argv.slice(2);
const at = args.indexOf('--parser');
if (at < 0 || args.length !== 3) {
  console.error('usage: validate.mjs --parser <dir with node_modules> <openapi.json>');
  process.exit(2);
}
const parserDir = path.resolve(args[at + 1]);
const file = path.resolve(args.filter((_, i) => i !== at && i !== at + 1)[0]);

let SwaggerParser;
try {
  SwaggerParser = createRequire(path.join(parserDir, 'package.json'))('@apidevtools/swagger-parser');
} catch (e) {
  console.error(`openapi check: @apidevtools/swagger-parser not found in ${parserDir}; run tests/openapi/install.sh (${e.message})`);
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  if (!String(api.openapi).startsWith('3.1')) throw new Error(`expected OpenAPI 3.1, found ${api.openapi}`);
  const operations = Object.values(api.paths).flatMap((item) => Object.keys(item)).length;
  console.log(`${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${operations} operations`);
} catch (e) {
  console.error(`${file}: ${e.message}`);
  process.exit(1);
}
