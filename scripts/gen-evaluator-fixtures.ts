// Writes the evaluator fixture models (trained here on ../shared/datasets) and their specs:
//   npx tsx scripts/gen-evaluator-fixtures.ts [out-dir]
import { generateFixtures } from '../evaluators/fixtures/generate.ts';

const dir = process.argv[2] ?? 'tmp/evaluator-fixtures';
const fixtures = await generateFixtures(dir);
for (const [name, f] of Object.entries(fixtures)) console.log(`${name}: ${f.model} (${f.specPath})`);
