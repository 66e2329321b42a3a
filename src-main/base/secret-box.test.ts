import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { SecretBox, SecretBoxError } from './secret-box'

describe('secret box', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  test('a sealed password opens with the same key and purpose, and its text is not in the sealed form', () => {
    const box = SecretBox.random()
    const sealed = box.seal('hunter2-ADMIN', 'bmc:7')
    expect(sealed).not.toContain('hunter2')
    expect(Buffer.from(sealed.slice(3), 'base64').toString('latin1')).not.toContain('hunter2')
    expect(box.open(sealed, 'bmc:7')).toBe('hunter2-ADMIN')
    // A fresh nonce each time: the same password seals differently.
    expect(box.seal('hunter2-ADMIN', 'bmc:7')).not.toBe(sealed)
  })

  test('another purpose, another key, or an altered value is refused with words, not garbage', () => {
    const box = SecretBox.random()
    const sealed = box.seal('pw', 'bmc:7')
    expect(() => box.open(sealed, 'bmc:8')).toThrow(SecretBoxError)
    expect(() => SecretBox.random().open(sealed, 'bmc:7')).toThrow(/credentials\.key/)
    const raw = Buffer.from(sealed.slice(3), 'base64')
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1
    expect(() => box.open(`v1.${raw.toString('base64')}`, 'bmc:7')).toThrow(SecretBoxError)
    expect(() => box.open('plain', 'bmc:7')).toThrow(/known sealed form/)
  })

  test('the data directory key is made once, 0600, and opens what an earlier start sealed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'secret-box-'))
    const first = await SecretBox.ofDataDir(dir)
    const sealed = first.seal('pw', 'bmc:1')
    expect((await stat(join(dir, 'credentials.key'))).mode & 0o777).toBe(0o600)
    const again = await SecretBox.ofDataDir(dir)
    expect(again.open(sealed, 'bmc:1')).toBe('pw')
  })
})
