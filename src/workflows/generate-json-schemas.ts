/**
 * Writes `statemachines/schemas/<workflow>.schema.json` from the zod schemas:
 * `npx tsx src/workflows/generate-json-schemas.ts`. Run it after changing a schema; a test fails while
 * the committed files differ from what this writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_DIRECTORY, renderJsonSchemaFiles } from './json-schemas';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const directory = join(root, JSON_SCHEMA_DIRECTORY);
mkdirSync(directory, { recursive: true });
for (const { fileName, text } of renderJsonSchemaFiles()) {
  writeFileSync(join(directory, fileName), text);
  console.log(`wrote ${join(JSON_SCHEMA_DIRECTORY, fileName)}`);
}
