// The layering of DESIGN.md §11 as a lint rule (VS Code keeps one keyed on folder names, too): a
// file may import only its own layer and the layers it builds on. Relative imports are resolved
// against the importing file, so `../../api/contract` is judged by where it lands, not by how it
// is spelled. docs/architecture.md explains each layer; this table is the one that is enforced.
import { dirname, relative, resolve, sep } from 'node:path'

const root = dirname(new URL(import.meta.url).pathname)

const BELOW_BARCLAMPS = ['base', 'model', 'store', 'domain', 'jigs', 'annealer']
const BELOW_API = [...BELOW_BARCLAMPS, 'services', 'barclamps', 'setup', 'boot']

/** Layer name -> the path prefixes (from the repository root) that belong to it, and what it may import. */
export const LAYERS = {
  base: { paths: ['src-main/base/'], imports: [] },
  model: { paths: ['src-main/model/'], imports: ['base'] },
  store: { paths: ['src-main/store/'], imports: ['base', 'model'] },
  domain: { paths: ['src-main/domain/'], imports: ['base', 'model', 'store'] },
  jigs: { paths: ['src-main/jigs/'], imports: ['base', 'model', 'store', 'domain'] },
  annealer: { paths: ['src-main/annealer/'], imports: ['base', 'model', 'store', 'domain', 'jigs'] },
  // A service owns the interfaces it reads through; barclamps implement them.
  services: { paths: ['src-main/services/'], imports: ['base', 'model'] },
  barclamps: { paths: ['src-main/barclamps/'], imports: [...BELOW_BARCLAMPS, 'services'] },
  setup: { paths: ['src-main/setup/'], imports: [...BELOW_BARCLAMPS, 'services', 'barclamps'] },
  // The boot services' composition: servers fed by the barclamps' sources.
  boot: { paths: ['src-main/boot/'], imports: [...BELOW_BARCLAMPS, 'services', 'barclamps'] },
  // The contract is all the renderer may see of the API: the operation table and its pure HTTP
  // mapping (paths and methods derived from the table, no Node), which the renderer's client uses.
  contract: { paths: ['src-main/api/contract.ts', 'src-main/api/http-routes.ts'], imports: ['base', 'model'] },
  api: { paths: ['src-main/api/'], imports: [...BELOW_API, 'contract'] },
  app: { paths: ['src-main/app.ts', 'src-main/data-dir.ts'], imports: [...BELOW_API, 'contract', 'api'] },
  entry: { paths: ['src-main/cli/', 'src-main/electron/'], imports: [...BELOW_API, 'contract', 'api', 'app'] },
  // Test support may use anything; nothing but tests may use it.
  testing: { paths: ['src-main/testing/'], imports: [...BELOW_API, 'contract', 'api', 'app', 'entry'] },
  renderer: { paths: ['src-renderer/'], imports: ['model', 'contract'] }
}

/** The layer a repository path belongs to (longest prefix wins), or undefined outside the table. */
export function layerOf(repoPath) {
  let found
  let length = -1
  for (const [name, layer] of Object.entries(LAYERS)) {
    for (const p of layer.paths) {
      const hit = p.endsWith('/') ? repoPath.startsWith(p) : repoPath === p || repoPath.startsWith(p.replace(/\.ts$/, '.'))
      if (hit && p.length > length) {
        found = name
        length = p.length
      }
    }
  }
  return found
}

const isTest = (repoPath) => /\.test\.tsx?$/.test(repoPath)

/** Repository path of a relative import, with the extension a TypeScript import leaves off. */
function target(fromFile, source) {
  const abs = resolve(dirname(fromFile), source)
  const rel = relative(root, abs).split(sep).join('/')
  return /\.(ts|tsx|js)$/.test(rel) ? rel : `${rel}.ts`
}

/** @type {import('eslint').Rule.RuleModule} */
const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Lower layers never import upper ones; production never imports test support (DESIGN.md §11)' },
    schema: []
  },
  create(context) {
    const file = relative(root, context.filename).split(sep).join('/')
    const own = layerOf(file)
    // Tests may reach across layers to set up what they test; files outside the table (e2e/,
    // bench/, configs) are not layered.
    if (!own || isTest(file)) return {}
    const allowed = new Set([own, ...LAYERS[own].imports])
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return
      const to = target(context.filename, source)
      const theirs = layerOf(to)
      if (!theirs || allowed.has(theirs)) return
      const why = theirs === 'testing' ? 'production code never imports test support' : `${own} builds on ${LAYERS[own].imports.join(', ') || 'nothing of ours'} only`
      context.report({ node, message: `${own} may not import ${theirs} ('${source}'): ${why} (see docs/architecture.md)` })
    }
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value)
    }
  }
}

export const layersPlugin = { rules: { layers: layersRule } }
