// The lab (real VMs under qemu in network namespaces; needs root): `npm run test:lab`, not part of `npm test`.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['e2e/lab/**/*.lab.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: 'test-results/lab-vitest.json' }]]
  }
})
