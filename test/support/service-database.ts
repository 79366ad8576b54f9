/**
 * The real PostgreSQL for service suites: DATABASE_URL (set by .ci/run), else the development
 * machines' local server; one fresh schema per suite so suites run in parallel. Unreachable → the
 * suite fails (createTestSchema throws), never skips.
 */
import { openPostgresPersistence, type PostgresPersistence, type PostgresPersistenceOptions } from '../../server/adapters/postgres/postgres-persistence.ts';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../../server/adapters/postgres/test-schema.ts';

export const TEST_DATABASE_URL = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;

export function testSchema(prefix: string): Promise<TestSchema> {
  return createTestSchema(TEST_DATABASE_URL, prefix);
}

/** Persistence on `schema` (optionally through another URL, e.g. a fault proxy). */
export function openTestPersistence(schema: TestSchema, options: Partial<PostgresPersistenceOptions> = {}): Promise<PostgresPersistence> {
  return openPostgresPersistence({ connectionString: TEST_DATABASE_URL, options: schema.options, ...options });
}
