// Secrets kept in the store, sealed with a key that lives only in the data directory (0600, like
// the admin SSH key): a copy of the database alone (a PostgreSQL dump, a backup of the SQLite
// file) gives no BMC password away. AES-256-GCM, a random 96-bit nonce per seal; the sealed text
// is `v1.` + base64(nonce | tag | ciphertext). A sealed value names what it seals (`purpose`,
// authenticated, not stored), so one cannot be moved to another row's place and opened there.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { readOrCreateSecret } from './private-files'

const VERSION = 'v1.'
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** A sealed value could not be opened: another data directory's key, or altered. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError'
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The box of the data directory: its key file made on first use (`credentials.key`, 0600). */
  static async ofDataDir(dataDir: string): Promise<SecretBox> {
    return new SecretBox(Buffer.from(await readOrCreateSecret(join(dataDir, 'credentials.key')), 'hex'))
  }

  /** For tests: a box with a fresh random key. */
  static random(): SecretBox {
    return new SecretBox(randomBytes(32))
  }

  seal(plain: string, purpose: string): string {
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce)
    cipher.setAAD(Buffer.from(purpose, 'utf8'))
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return VERSION + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64')
  }

  open(sealed: string, purpose: string): string {
    if (!sealed.startsWith(VERSION)) throw new SecretBoxError('a stored secret is not in a known sealed form')
    const raw = Buffer.from(sealed.slice(VERSION.length), 'base64')
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new SecretBoxError('a stored secret is truncated')
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES))
      decipher.setAAD(Buffer.from(purpose, 'utf8'))
      decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES))
      return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw new SecretBoxError('a stored secret cannot be opened with this data directory’s credentials.key (was the store copied from another installation?): enter the password again')
    }
  }
}
