// The layering rule (eslint.layers.js, DESIGN.md §11) runs through the real ESLint with the
// project's config: it fires on deliberate upward imports placed in the tree and passes on the tree.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { ESLint } from 'eslint'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { layerOf } from '../../eslint.layers.js'

const root = join(__dirname, '..', '..')

describe('the layering rule', () => {
  let eslint: ESLint
  const made: string[] = []
  beforeAll(() => {
    eslint = new ESLint({ cwd: root })
  })
  afterAll(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true })
  })

  /** Lints `code` as a file in `folder` (in a temporary folder inside it, removed at once). */
  async function layerMessages(folder: string, code: string): Promise<string[]> {
    const dir = await mkdtemp(join(root, folder, 'layer-fixture-'))
    made.push(dir)
    try {
      const file = join(dir, 'fixture.ts')
      await writeFile(file, code)
      const [result] = await eslint.lintFiles([relative(root, file)])
      return (result?.messages ?? []).filter((m) => m.ruleId === 'crowbar/layers').map((m) => m.message)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  it('knows the layer of each folder', () => {
    expect(layerOf('src-main/domain/nodes.ts')).toBe('domain')
    expect(layerOf('src-main/api/contract.ts')).toBe('contract')
    expect(layerOf('src-main/api/handlers.ts')).toBe('api')
    expect(layerOf('src-main/app.ts')).toBe('app')
    expect(layerOf('src-renderer/src/App.tsx')).toBe('renderer')
    expect(layerOf('bench/boot.ts')).toBeUndefined()
  })

  it('rejects a domain file importing the API (two folders up, as a real file would spell it)', async () => {
    const messages = await layerMessages('src-main/domain', "import { contract } from '../../api/contract'\nexport const n = Object.keys(contract).length\n")
    expect(messages).toHaveLength(1)
    expect(messages[0]).toMatch(/^domain may not import contract \('\.\.\/\.\.\/api\/contract'\)/)
  })

  it('rejects a service reaching up into a barclamp, and production importing test support', async () => {
    const up = await layerMessages('src-main/services', "export { networkBarclamp } from '../../barclamps/network/network-barclamp'\n")
    expect(up).toEqual([expect.stringMatching(/^services may not import barclamps/)])
    const testing = await layerMessages('src-main/barclamps', "import { scenario } from '../../testing/domain-scenario'\nexport const s = scenario\n")
    expect(testing).toEqual([expect.stringMatching(/^barclamps may not import testing .*never imports test support/)])
  })

  it('lets the renderer import the model and the contract, nothing else of the main side', async () => {
    const fine = await layerMessages('src-renderer/src', "import type { Node } from '../../../src-main/model'\nimport { contract } from '../../../src-main/api/contract'\nexport type N = Node\nexport const c = contract\n")
    expect(fine).toEqual([])
    const store = await layerMessages('src-renderer/src', "import { openStore } from '../../../src-main/store/store'\nexport const o = openStore\n")
    expect(store).toEqual([expect.stringMatching(/^renderer may not import store/)])
  })

  it('passes on the tree', async () => {
    const results = await eslint.lintFiles(['src-main', 'src-renderer'])
    const found = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'crowbar/layers').map((m) => `${relative(root, r.filePath)}: ${m.message}`))
    expect(found).toEqual([])
  }, 240_000)
})
