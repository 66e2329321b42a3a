// Prints one line, "N passed, N failed, N skipped", from the JSON reports of vitest and Playwright
// that `npm test` writes under test-results/, and of the lab (`npm run test:lab`).
import { existsSync, readFileSync } from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0

for (const vitestReport of ['test-results/unit.json', 'test-results/lab-vitest.json']) {
  if (!existsSync(vitestReport)) continue
  const r = JSON.parse(readFileSync(vitestReport, 'utf8'))
  passed += r.numPassedTests ?? 0
  failed += r.numFailedTests ?? 0
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
}

const e2e = 'test-results/e2e.json'
if (existsSync(e2e)) {
  const r = JSON.parse(readFileSync(e2e, 'utf8'))
  passed += r.stats?.expected ?? 0
  failed += (r.stats?.unexpected ?? 0) + (r.stats?.flaky ?? 0)
  skipped += r.stats?.skipped ?? 0
}

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
