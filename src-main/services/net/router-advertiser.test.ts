import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRootLogger } from '../../base/log'
import { RouterAdvertiser } from './router-advertiser'
import { createTestLink, run, type TestLink } from '../../testing/test-link'

const isRoot = process.getuid?.() === 0
const hasRdisc6 = (await run('sh', ['-c', 'command -v rdisc6'])).code === 0

// rdisc6 (package ndisc6) sends one router solicitation from inside the namespace and prints the
// advertisement it gets. The periodic advertisements are an hour apart here, so an answer within
// the second can only be the one to the solicitation.
describe.skipIf(!isRoot || !hasRdisc6)('IPv6 router advertisements (rdisc6 in a namespace)', () => {
  let link: TestLink
  let advertiser: RouterAdvertiser | undefined

  beforeEach(async () => {
    link = await createTestLink()
    // Both ends need their IPv6 link-local address (DAD done) before they can send: ours for the
    // answers, the namespace's for rdisc6's solicitation ("Cannot assign requested address").
    const ready = async (show: () => Promise<{ stdout: string }>): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        const out = (await show()).stdout
        if (out.includes('inet6 fe80') && !out.includes('tentative')) return
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error('no IPv6 link-local address after 5 s')
    }
    await ready(() => run('ip', ['-6', 'addr', 'show', 'dev', link.hostIf, 'scope', 'link']))
    await ready(() => link.exec('ip', ['-6', 'addr', 'show', 'dev', link.peerIf, 'scope', 'link']))
  })
  afterEach(async () => {
    advertiser?.stop()
    advertiser = undefined
    await link?.stop()
  })

  it('answers a router solicitation within a second with the prefix (periodic ones are an hour apart)', async () => {
    advertiser = new RouterAdvertiser(link.hostIf, 'fd00:1234:5678:9::/64', createRootLogger('silent'), 3_600_000)
    advertiser.start()
    await new Promise((r) => setTimeout(r, 300)) // the start-up advertisement has gone by
    const started = performance.now()
    // -1: stop at the first advertisement; -w 1000 -r 1: one solicitation, wait at most 1 s.
    const out = await link.exec('rdisc6', ['-1', '-w', '1000', '-r', '1', link.peerIf], 10_000)
    const seconds = (performance.now() - started) / 1000
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout).toMatch(/Hop limit\s*:\s*64/)
    expect(out.stdout).toMatch(/Router lifetime\s*:\s*0 \(0x00000000\) seconds/)
    expect(out.stdout).toMatch(/Prefix\s*:\s*fd00:1234:5678:9::\/64/)
    expect(out.stdout).toMatch(/On-link\s*:\s*Yes/)
    expect(out.stdout).toMatch(/Autonomous address conf\.\s*:\s*Yes/)
    expect(out.stdout).toMatch(/from fe80::/)
    expect(seconds).toBeLessThan(2)
    // The namespace's kernel solicits too when its link comes up: at least rdisc6's was answered.
    expect(advertiser.answered()).toBeGreaterThanOrEqual(1)
  }, 20_000)

  it('stops answering once stopped', async () => {
    advertiser = new RouterAdvertiser(link.hostIf, 'fd00:1234:5678:9::/64', createRootLogger('silent'), 3_600_000)
    advertiser.start()
    advertiser.stop()
    advertiser.stop()
    const out = await link.exec('rdisc6', ['-1', '-w', '500', '-r', '1', link.peerIf], 10_000)
    expect(out.code).not.toBe(0)
    expect(out.stdout).not.toMatch(/Prefix/)
  }, 20_000)
})
