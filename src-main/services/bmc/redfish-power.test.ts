// RedfishPower against a FAKE Redfish service (src-main/testing/fake-redfish-service.ts: Debian has
// no Redfish emulator) over real HTTPS on 127.0.0.1 with a self-signed certificate from openssl.
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { makeSelfSignedCertificate, startFakeRedfishService, type FakeRedfishService } from '../../testing/fake-redfish-service'
import { BmcError } from './bmc-power'
import { normalizeFingerprint } from './pinned-https'
import { RedfishPower, type RedfishBmcOptions } from './redfish-power'

const started: { stop(): Promise<void> }[] = []
afterEach(async () => {
  for (const s of started.splice(0).reverse()) await s.stop()
})

async function fake(options: Parameters<typeof startFakeRedfishService>[0] = {}): Promise<FakeRedfishService> {
  const f = await startFakeRedfishService(options)
  started.push(f)
  return f
}

const client = (f: FakeRedfishService, o: Partial<RedfishBmcOptions> = {}): RedfishPower =>
  new RedfishPower({ host: f.host, port: f.port, user: f.user, password: f.password, ...o })

async function failure(p: Promise<unknown>): Promise<BmcError> {
  try {
    await p
  } catch (err) {
    if (err instanceof BmcError) return err
    throw err
  }
  throw new Error('expected a BmcError')
}

/** A TCP listener on loopback that accepts and never says a word: a hung BMC. */
async function silentListener(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createTcpServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as { port: number }).port
  const handle = {
    port,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      })
  }
  started.push(handle)
  return handle
}

describe('RedfishPower against the fake Redfish service', () => {
  it('reads Off, powers on, reads On, powers off, with one session per operation, each deleted', async () => {
    const f = await fake()
    const bmc = client(f)
    expect(await bmc.status()).toBe('off')
    await bmc.on()
    expect(f.powerState).toBe('On')
    expect(await bmc.status()).toBe('on')
    await bmc.off()
    expect(f.powerState).toBe('Off')
    expect(await bmc.status()).toBe('off')
    expect(f.resets).toEqual(['On', 'ForceOff'])
    expect(f.sessionsCreated).toBe(5)
    expect(f.sessionsDeleted).toBe(5)
    expect(f.openSessions).toBe(0)
    // Everything but the login carries the session's token.
    expect(f.requests.filter((r) => r.method !== 'POST' || r.path !== '/redfish/v1/SessionService/Sessions').every((r) => r.token)).toBe(true)
    expect(f.requests.find((r) => r.path.endsWith('ComputerSystem.Reset'))?.body).toEqual({ ResetType: 'On' })
  })

  it('cycles with PowerCycle and resets with ForceRestart', async () => {
    const f = await fake({ initialPower: 'On' })
    const bmc = client(f)
    await bmc.cycle()
    await bmc.reset()
    expect(f.resets).toEqual(['PowerCycle', 'ForceRestart'])
    expect(f.powerState).toBe('On')
  })

  it('sets the next boot to PXE once with a PATCH that carries the ETag, UEFI mode when asked', async () => {
    const f = await fake()
    const bmc = client(f)
    await bmc.pxeOnce()
    expect(f.boot).toMatchObject({ BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'Legacy' })
    await bmc.pxeOnce({ uefi: true })
    const patches = f.requests.filter((r) => r.method === 'PATCH')
    expect(patches.map((p) => p.body)).toEqual([
      { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } },
      { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'UEFI' } }
    ])
    expect(patches.every((p) => p.path === '/redfish/v1/Systems/437XR1138R2')).toBe(true)
    expect(f.boot.BootSourceOverrideMode).toBe('UEFI')
    expect(f.openSessions).toBe(0)
  })

  it('says the BMC refused the password, and leaves no session open', async () => {
    const f = await fake()
    const err = await failure(client(f, { password: 'wrong' }).on())
    expect(err.kind).toBe('auth')
    expect(err.message).toBe('BMC 127.0.0.1 refused the password for user root')
    expect(f.powerState).toBe('Off')
    expect(f.sessionsCreated).toBe(0)
  })

  it('pins the certificate on first contact, accepts it again, and refuses a changed one before sending the password', async () => {
    const first = await fake()
    const bmc = client(first)
    expect(bmc.certificateFingerprint).toBeUndefined()
    await bmc.status()
    // The fingerprint as openssl prints it for the fake's certificate.
    expect(bmc.certificateFingerprint).toBe(first.certificate.fingerprint)
    const pinned = bmc.certificateFingerprint
    expect(await client(first, { pinnedFingerprint: pinned }).status()).toBe('off')
    // Any spelling of the same fingerprint pins the same certificate.
    expect(await client(first, { pinnedFingerprint: `sha256:${pinned!.replace(/:/g, '').toLowerCase()}` }).status()).toBe('off')

    const port = first.port
    await first.stop()
    const replaced = await fake({ port })
    expect(replaced.certificate.fingerprint).not.toBe(pinned)
    const again = client(replaced, { pinnedFingerprint: pinned })
    const err = await failure(again.on())
    expect(err.kind).toBe('protocol')
    expect(err.message).toBe(
      `the BMC's certificate changed since it was pinned: BMC 127.0.0.1 now presents SHA-256 ${replaced.certificate.fingerprint}, pinned ${normalizeFingerprint(pinned!)}; ` +
        `if the BMC's certificate was replaced on purpose (new firmware, a reset), clear the pin to accept the new one`
    )
    expect(again.certificateFingerprint).toBeUndefined()
    expect(replaced.requests).toEqual([])
    expect(replaced.powerState).toBe('Off')

    // A restart that keeps the certificate passes the pin.
    const kept = replaced.certificate
    await replaced.stop()
    const restarted = await fake({ port, certificate: kept })
    expect(await client(restarted, { pinnedFingerprint: kept.fingerprint }).status()).toBe('off')
  })

  it('says the BMC refused the connection when nothing listens on the port', async () => {
    const closed = await silentListener()
    const port = closed.port
    await closed.stop()
    const err = await failure(new RedfishPower({ host: '127.0.0.1', port, user: 'root', password: 'x' }).status())
    expect(err.kind).toBe('refused')
    expect(err.message).toBe(`BMC 127.0.0.1 refused the connection on TCP port ${port}: no Redfish (HTTPS) service listens there`)
  })

  it('gives up on a BMC that never answers within the bound, without holding up another', async () => {
    const hung = await silentListener()
    const good = await fake()
    const t0 = Date.now()
    let hungSettled = false
    const slow = failure(new RedfishPower({ host: '127.0.0.1', port: hung.port, user: 'root', password: 'x', timeoutMs: 3_000 }).status()).finally(() => (hungSettled = true))
    expect(await client(good).status()).toBe('off')
    await client(good).on()
    expect(Date.now() - t0).toBeLessThan(1_500)
    expect(hungSettled).toBe(false)
    const err = await slow
    expect(err.kind).toBe('timeout')
    expect(err.message).toBe('BMC 127.0.0.1 did not answer within 3 s')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_900)
    expect(Date.now() - t0).toBeLessThan(4_000)
  })
})

describe('RedfishPower with a BMC that answers badly', () => {
  /** An HTTPS server that opens sessions and answers GET /redfish/v1/Systems with `systems`. */
  async function badBmc(systems: (res: import('node:http').ServerResponse) => void): Promise<{ port: number; deletes: () => number }> {
    const { key, cert } = await makeSelfSignedCertificate()
    let deletes = 0
    const server = createHttpsServer({ key, cert }, (req, res) => {
      req.resume()
      if (req.method === 'POST') {
        res.writeHead(201, { 'x-auth-token': 't', location: '/redfish/v1/SessionService/Sessions/1', 'content-type': 'application/json' })
        res.end('{}')
      } else if (req.method === 'DELETE') {
        deletes++
        res.writeHead(204)
        res.end()
      } else systems(res)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    started.push({ stop: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() }) })
    return { port: (server.address() as { port: number }).port, deletes: () => deletes }
  }
  const against = (port: number): RedfishPower => new RedfishPower({ host: '127.0.0.1', port, user: 'root', password: 'x', maxBodyBytes: 64 * 1024 })

  it('refuses an answer larger than the bound, and still closes the session', async () => {
    const bmc = await badBmc((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      // No content-length: the size is found while reading.
      res.write('{"Members":[')
      res.end(`${'{"@odata.id":"/redfish/v1/Systems/1"},'.repeat(5_000)}{"@odata.id":"/redfish/v1/Systems/1"}]}`)
    })
    const err = await failure(against(bmc.port).status())
    expect([err.kind, err.message]).toEqual(['protocol', 'BMC 127.0.0.1 sent more than 65536 bytes in answer to GET /redfish/v1/Systems'])
    expect(bmc.deletes()).toBe(1)
  })

  it('does not follow a member link off /redfish/v1/', async () => {
    const bmc = await badBmc((res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ Members: [{ '@odata.id': 'https://elsewhere.example/redfish/v1/Systems/1' }] }))
    })
    const err = await failure(against(bmc.port).on())
    expect(err.kind).toBe('protocol')
    expect(err.message).toBe('BMC 127.0.0.1 answered GET /redfish/v1/Systems with a resource Redfish does not describe (Members.0.@odata.id: not a path inside /redfish/v1/)')
  })

  it('says so when the answer is not JSON', async () => {
    const bmc = await badBmc((res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<html>login</html>')
    })
    const err = await failure(against(bmc.port).status())
    expect([err.kind, err.message]).toEqual(['protocol', 'BMC 127.0.0.1 answered GET /redfish/v1/Systems with something that is not JSON'])
  })
})
