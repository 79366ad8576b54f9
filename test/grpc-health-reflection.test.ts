// grpc.health.v1 and server reflection, queried with plain proto-loader clients as a tool like grpcurl would.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './grpc-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function service(protoFile: string, includeDir: string, path: string[]): ServiceClientConstructor {
  const pkg = loadPackageDefinition(loadSync(protoFile, { includeDirs: [includeDir], keepCase: true, enums: String, longs: String }));
  let node: unknown = pkg;
  for (const part of path) node = (node as GrpcObject)[part];
  return node as ServiceClientConstructor;
}

describe('health', () => {
  it('answers SERVING for the server and for each trading service', async () => {
    const Health = service(healthProtoPath, dirname(healthProtoPath), ['grpc', 'health', 'v1', 'Health']);
    const client = new Health(h.address, credentials.createInsecure());
    const check = (name: string) =>
      new Promise<{ status: string }>((resolve, reject) =>
        client.check({ service: name }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res))),
      );
    try {
      for (const name of ['', 'trading.v1.OrdersService', 'trading.v1.MarketDataService', 'trading.v1.InstrumentsService']) {
        expect((await check(name)).status).toBe('SERVING');
      }
    } finally {
      client.close();
    }
  });
});

describe('reflection', () => {
  it('lists the trading services, health and reflection, and describes a trading file', async () => {
    const require = createRequire(import.meta.url);
    const reflectionRoot = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const Reflection = service('grpc/reflection/v1/reflection.proto', reflectionRoot, ['grpc', 'reflection', 'v1', 'ServerReflection']);
    const client = new Reflection(h.address, credentials.createInsecure());
    const ask = (request: object) =>
      new Promise<Record<string, any>>((resolve, reject) => {
        const call = client.serverReflectionInfo();
        call.on('data', (res: Record<string, any>) => {
          resolve(res);
          call.end();
        });
        call.on('error', reject);
        call.write(request);
      });
    try {
      const listed = await ask({ list_services: '' });
      const names = (listed.list_services_response.service as { name: string }[]).map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'trading.v1.OrdersService',
          'trading.v1.MarketDataService',
          'trading.v1.InstrumentsService',
          'trading.v1.SessionService',
          'grpc.health.v1.Health',
        ]),
      );
      const described = await ask({ file_containing_symbol: 'trading.v1.OrdersService' });
      expect(described.file_descriptor_response.file_descriptor_proto.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });
});
