// Lexical rules for the file name in a read request, applied before any filesystem access.
// Only names that are plainly relative and canonical get through; everything else is refused.

export type RequestPathVerdict =
  | { readonly ok: true; readonly relative: string }
  | { readonly ok: false; readonly reason: string }

/** How many rounds of %XX decoding are inspected; enough for double and triple encoding. */
const PERCENT_ROUNDS = 3

function problemIn(path: string): string | null {
  if (path.includes('\0')) return 'NUL byte'
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'control character'
  if (path.includes('\\')) return 'backslash'
  if (path.startsWith('/')) return 'absolute path'
  for (const segment of path.split('/')) {
    if (segment === '..') return "'..' segment"
    if (segment === '.') return "'.' segment"
    // Empty segments (a//b, trailing /) have no use in a boot file name and make names ambiguous.
    if (segment === '') return 'empty path segment'
  }
  return null
}

function percentDecodeOnce(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

/**
 * The relative name to look up under the root, or why it is refused. One leading '/' is dropped
 * because PXE ROMs and GRUB send "/pxelinux.0"-style names that mean "from the root".
 *
 * Boot clients send raw names, so the name is served literally and never percent-decoded; but a
 * name whose decoding would spell a traversal (%2e%2e, %2f, %00, %5c) is someone probing, or a
 * proxy in between that decodes, and is refused either way.
 */
export function checkRequestPath(raw: string): RequestPathVerdict {
  const path = raw.startsWith('/') ? raw.slice(1) : raw
  if (path === '') return { ok: false, reason: 'names the root directory' }
  const problem = problemIn(path)
  if (problem) return { ok: false, reason: problem }

  let current = path
  for (let round = 0; round < PERCENT_ROUNDS; round++) {
    // Bytes >= 0x80 spelled as %XX are the overlong-UTF-8 form of '.' and '/' (%c0%ae).
    if (/%[89a-fA-F][0-9a-fA-F]/.test(current)) return { ok: false, reason: 'percent-encoded non-ASCII byte' }
    const decoded = percentDecodeOnce(current)
    if (decoded === current) break
    const hidden = problemIn(decoded)
    if (hidden) return { ok: false, reason: `percent-encoded ${hidden}` }
    current = decoded
  }
  return { ok: true, relative: path }
}
