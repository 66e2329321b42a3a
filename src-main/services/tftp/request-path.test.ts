// Lexical request-path rules, without a filesystem.
import { describe, expect, it } from 'vitest'
import { checkRequestPath } from './request-path'

describe('tftp request path rules', () => {
  it.each([
    ['pxelinux.0', 'pxelinux.0'],
    ['/pxelinux.0', 'pxelinux.0'],
    ['pxelinux.cfg/01-52-54-00-12-34-56', 'pxelinux.cfg/01-52-54-00-12-34-56'],
    ['/EFI/BOOT/grubx64.efi', 'EFI/BOOT/grubx64.efi'],
    ['...', '...'],
    ['.hidden', '.hidden'],
    ['100%25', '100%25'],
    ['a%2fb', 'a%2fb'],
    ['ünïcode.cfg', 'ünïcode.cfg']
  ])('accepts %j as %j, served literally', (raw, relative) => {
    expect(checkRequestPath(raw)).toEqual({ ok: true, relative })
  })

  it.each([
    ['', 'names the root directory'],
    ['/', 'names the root directory'],
    ['//etc/passwd', 'absolute path'],
    ['..', "'..' segment"],
    ['../secret', "'..' segment"],
    ['/../secret', "'..' segment"],
    ['a/../../secret', "'..' segment"],
    ['sub/../file', "'..' segment"],
    ['.', "'.' segment"],
    ['./file', "'.' segment"],
    ['sub/', 'empty path segment'],
    ['....//secret', 'empty path segment'],
    ['..\\secret', 'backslash'],
    ['\\windows\\boot.efi', 'backslash'],
    ['file\u0000', 'NUL byte'],
    ['file\n', 'control character'],
    ['%2e%2e/secret', "percent-encoded '..' segment"],
    ['%2e%2e%2fsecret', "percent-encoded '..' segment"],
    ['%2E%2E%2Fsecret', "percent-encoded '..' segment"],
    ['..%2fsecret', "percent-encoded '..' segment"],
    ['%252e%252e%252fsecret', "percent-encoded '..' segment"],
    ['%2fetc%2fpasswd', 'percent-encoded absolute path'],
    ['..%5csecret', 'percent-encoded backslash'],
    ['file%00.txt', 'percent-encoded NUL byte'],
    ['%c0%ae%c0%ae/secret', 'percent-encoded non-ASCII byte']
  ])('refuses %j: %s', (raw, reason) => {
    expect(checkRequestPath(raw)).toEqual({ ok: false, reason })
  })
})
