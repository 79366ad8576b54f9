/**
 * Server reflection (grpc.reflection.v1 and v1alpha) for grpcurl and friends. @grpc/reflection needs a
 * proto-loader package definition, so the same .proto files (plus grpc.health.v1) are loaded once
 * here, at startup, for reflection only; the services themselves use the ts-proto code.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto } from '@bufbuild/protobuf/wkt';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
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
  return new ReflectionService(withProtocMapEntryNames(definition));
}

/** `statuses` → `StatusesEntry`, `order_ids` → `OrderIdsEntry`: protoc's name for a map field's entry message. */
export function mapEntryName(field: string): string {
  return `${field.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase())}Entry`;
}

/**
 * proto-loader (protobufjs) describes a map field's entry message by the field's capitalised name
 * (`Statuses`), where protoc names it `<Field>Entry` (`StatusesEntry`); strict descriptor pools
 * (Python's, protoc's) reject the former ("map_entry should not be set explicitly"). Renames every
 * map entry, and the field's type reference to it, in the file descriptors reflection serves.
 */
export function withProtocMapEntryNames(definition: PackageDefinition): PackageDefinition {
  const fixed = new Map<string, Buffer>(); // the same file is shared by many definition entries
  const fix = (bin: Buffer): Buffer => {
    const key = bin.toString('base64');
    const known = fixed.get(key);
    if (known !== undefined) return known;
    const file = fromBinary(FileDescriptorProtoSchema, bin);
    let changed = false;
    const visit = (m: DescriptorProto): void => {
      for (const nested of m.nestedType) visit(nested);
      for (const entry of m.nestedType) {
        if (entry.options?.mapEntry !== true) continue;
        const field = m.field.find((f) => f.typeName === entry.name || f.typeName.endsWith(`.${entry.name}`));
        if (field === undefined) continue;
        const want = mapEntryName(field.name);
        if (entry.name === want) continue;
        field.typeName = field.typeName === entry.name ? want : `${field.typeName.slice(0, -entry.name.length)}${want}`;
        entry.name = want;
        changed = true;
      }
    };
    for (const m of file.messageType) visit(m);
    const out = changed ? Buffer.from(toBinary(FileDescriptorProtoSchema, file)) : bin;
    fixed.set(key, out);
    return out;
  };
  for (const value of Object.values(definition)) {
    const protos = (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    if (Array.isArray(protos)) (value as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos = protos.map(fix);
  }
  return definition;
}
