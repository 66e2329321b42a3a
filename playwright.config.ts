// End-to-end tests: the built renderer against a real headless server, in Debian's Chromium (no
// browser downloads here), and the Electron shell when its binary is installed. Build first.
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.e2e.ts',
  outputDir: 'test-results/artifacts',
  timeout: 30_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    screenshot: 'only-on-failure',
    // The size the renderer must be readable at (a 13-inch laptop); tests attach their own screenshots.
    viewport: { width: 1280, height: 800 }
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          // Keep Chromium from reaching for the network or a GPU on a machine that has neither.
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-quic',
            '--no-first-run',
            '--disable-sync'
          ]
        }
      }
    }
  ]
})
