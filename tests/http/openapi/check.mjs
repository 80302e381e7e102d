// Fetches the OpenAPI document from a running `unity serve` (or reads a file) and validates it:
// 1. @apidevtools/swagger-parser: the official OpenAPI 3.1 schema, every $ref resolves;
// 2. @redocly/openapi-core's "recommended" lint (path parameters declared, schema keywords and
//    types, unique operation ids, unused components, …), where a warning fails like an error.
// Exit 0 when valid; 1, with every problem, otherwise. Usage: node check.mjs URL|FILE
import { readFile } from "node:fs/promises";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createConfig, lintFromString } from "@redocly/openapi-core";

const source = process.argv[2];
if (!source) {
  console.error("usage: node check.mjs URL|FILE");
  process.exit(2);
}

async function load() {
  if (!/^https?:\/\//.test(source)) return readFile(source, "utf8");
  const res = await fetch(source);  // no Authorization header: the document is public
  if (res.status !== 200) throw new Error(`GET ${source} answered ${res.status}`);
  return res.text();
}

try {
  const text = await load();
  const doc = JSON.parse(text);
  if (doc.openapi !== "3.1.0") throw new Error(`openapi is ${doc.openapi}, not 3.1.0`);
  await SwaggerParser.validate(structuredClone(doc));
  const config = await createConfig({
    extends: ["recommended"],
    rules: {
      // /healthz, /readyz and /openapi.json take no input and need no token: no 4XX to give.
      "operation-4xx-response": "off",
      // GET /api/v1/ws answers 101 (Switching Protocols), never 2XX.
      "operation-2xx-response": "off",
      // Unity declares no licence for its API.
      "info-license": "off",
    },
  });
  const problems = await lintFromString({ source: text, absoluteRef: "openapi.json", config });
  for (const p of problems) {
    console.error(`${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? "?"}`);
  }
  if (problems.length > 0) throw new Error(`${problems.length} lint problem(s)`);
  console.log(`valid: ${doc.info.title} ${doc.info.version}, ${Object.keys(doc.paths).length} paths`);
} catch (e) {
  console.error(`invalid OpenAPI document: ${e.message}`);
  if (e.details) console.error(JSON.stringify(e.details, null, 2).slice(0, 4000));
  process.exit(1);
}
