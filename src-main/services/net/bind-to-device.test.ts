// SO_BINDTODEVICE through the addon: a UDP socket is bound to its port first and to the device
// after, so what arrived in between (on any interface) must be discarded, never read. Root.
import { spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bindUdp } from '../../base/socket-ready'
import { createTestLink, type TestLink } from '../../testing/test-link'
import { bindSocketToDevice } from './bind-to-device'

describe('bindSocketToDevice', () => {
  let link: TestLink
  beforeAll(async () => {
    link = await createTestLink()
    await link.exec('ip', ['addr', 'add', `${link.prefix}9/24`, 'dev', link.peerIf])
  })
  afterAll(async () => {
    await link?.stop()
  })

  it('discards datagrams that came in on another interface before the device binding', async () => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true })
    const read: string[] = []
    socket.on('message', (m) => read.push(m.toString()))
    try {
      await bindUdp(socket, { port: 0, address: '0.0.0.0' })
      const port = socket.address().port
      // Sent over loopback by another process while this one does not turn its event loop: the
      // datagrams wait in the socket's queue, as a flood's would in the gap.
      const sent = spawnSync('bash', ['-c', `for i in 1 2 3; do echo from-loopback-$i >/dev/udp/127.0.0.1/${port}; done`], { timeout: 5000 })
      expect(sent.status).toBe(0)
      expect(bindSocketToDevice(socket, link.hostIf)).toBe(3)
      // Loopback traffic after the binding is not delivered either; what comes in on the device is.
      spawnSync('bash', ['-c', `echo late >/dev/udp/127.0.0.1/${port}`], { timeout: 5000 })
      const peer = await link.exec('bash', ['-c', `echo from-the-link >/dev/udp/${link.hostAddress}/${port}`])
      expect(peer.code, peer.stderr).toBe(0)
      for (let i = 0; i < 40 && read.length === 0; i++) await new Promise((r) => setTimeout(r, 25))
      await new Promise((r) => setTimeout(r, 100))
      expect(read).toEqual(['from-the-link\n'])
    } finally {
      socket.close()
    }
  }, 20_000)
})
