#!/usr/bin/env node
// Generates the TypeScript gRPC code for proto/trading/v1/*.proto with ts-proto into
// server/adapters/grpc/generated/ (committed). `node scripts/proto-gen.mjs [outDir]` writes elsewhere;
// test/proto-generated.test.ts uses that to check the committed files are not stale.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const protoRoot = join(root, 'proto');
const outDir = resolve(process.argv[2] ?? join(root, 'server/adapters/grpc/generated'));

/**
 * ts-proto options. forceLong=string: uint64 ids and sequences travel as decimal strings, exact and
 * JSON-friendly. importSuffix=.js: generated files import each other the NodeNext way, which tsx and tsc
 * both resolve to the .ts sources. oneof=unions-value: `{ $case, value }` unions the compiler narrows.
 */
export const TS_PROTO_OPTIONS = [
  'outputServices=grpc-js',
  'env=node',
  'forceLong=string',
  'oneof=unions-value',
  'esModuleInterop=true',
  'importSuffix=.js',
  'useExactTypes=false',
];

function protoFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...protoFiles(path));
    else if (entry.name.endsWith('.proto')) found.push(relative(protoRoot, path));
  }
  return found.sort();
}

const require = createRequire(import.meta.url);
const protocCli = require.resolve('protoc/protoc.cjs');
const plugin = join(root, 'node_modules/.bin/protoc-gen-ts_proto');

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const files = protoFiles(protoRoot);
const result = spawnSync(
  process.execPath,
  [protocCli, `--plugin=protoc-gen-ts_proto=${plugin}`, `--ts_proto_out=${outDir}`, `--ts_proto_opt=${TS_PROTO_OPTIONS.join(',')}`, `--proto_path=${protoRoot}`, ...files],
  { stdio: 'inherit', cwd: root },
);
if (result.status !== 0) {
  console.error(`proto-gen: protoc failed with status ${result.status}`);
  process.exit(result.status ?? 1);
}
console.log(`proto-gen: ${files.length} files -> ${relative(root, outDir) || '.'}`);
