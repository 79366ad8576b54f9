/**
 * Server reflection (grpc.reflection.v1 and v1alpha) for grpcurl and friends. @grpc/reflection needs a
 * proto-loader package definition, so the same .proto files (plus grpc.health.v1) are loaded once
 * here, at startup, for reflection only; the services themselves use the ts-proto code.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';

export const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../proto');
export const TRADING_PROTO_FILES = ['trading/v1/orders.proto', 'trading/v1/market_data.proto', 'trading/v1/instruments.proto', 'trading/v1/sessions.proto'];

export function createReflectionService(): ReflectionService {
  // health.proto lives at <root>/health/v1/health.proto inside grpc-health-check.
  const healthRoot = dirname(dirname(dirname(healthProtoPath)));
  const definition = loadSync([...TRADING_PROTO_FILES, 'health/v1/health.proto'], {
    includeDirs: [PROTO_ROOT, healthRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return new ReflectionService(definition);
}
