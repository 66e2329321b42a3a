// Types for eslint.layers.js, so the layering test can read its table with the compiler's help.
import type { ESLint } from 'eslint'

export declare const LAYERS: Readonly<Record<string, { readonly paths: readonly string[]; readonly imports: readonly string[] }>>
export declare function layerOf(repoPath: string): string | undefined
export declare const layersPlugin: ESLint.Plugin
