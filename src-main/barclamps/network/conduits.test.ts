// Conduit resolution (issue 17) against recorded inventories: one NIC, two at different speeds,
// four with a model's interface map, and the refusals, each naming the node and what it has.
import { describe, expect, it } from 'vitest'
import { busOrder, parseConduit, resolveConduit, speedClassOf, type DiscoveredNic } from './conduits'

/** A lab VM: one virtio NIC, which reports no speed. */
const ONE_VIRTIO: DiscoveredNic[] = [{ name: 'eth0', mac: '52:54:00:c8:00:01', speed_mbps: null, bus_path: '0000:00:03.0', link: true }]
/** A 1U server: an onboard 1 Gb/s port and a 10 Gb/s card, listed by the OS card first. */
const ONE_AND_TEN: DiscoveredNic[] = [
  { name: 'enp65s0f0', mac: '3c:fd:fe:00:00:10', speed_mbps: 10_000, bus_path: '0000:41:00.0', link: true },
  { name: 'eno1', mac: '3c:fd:fe:00:00:01', speed_mbps: 1_000, bus_path: '0000:02:00.0', link: true }
]
/** Four 1 Gb/s ports on two cards, whose bus order differs from the vendor's port labels. */
const FOUR: DiscoveredNic[] = [
  { name: 'eth0', mac: 'aa:00:00:00:00:01', speed_mbps: 1_000, bus_path: '0000:01:00.0' },
  { name: 'eth1', mac: 'aa:00:00:00:00:02', speed_mbps: 1_000, bus_path: '0000:01:00.1' },
  { name: 'eth2', mac: 'aa:00:00:00:00:03', speed_mbps: 1_000, bus_path: '0000:05:00.0' },
  { name: 'eth3', mac: 'aa:00:00:00:00:04', speed_mbps: 1_000, bus_path: '0000:05:00.1' }
]
const ctx = { nodeName: 'n1.lab.test', network: 'storage' }

describe('conduits', () => {
  it('parses references and bonds, and says what is wrong with a bad one', () => {
    expect(parseConduit('1g0')).toEqual({ ok: true, value: [{ sign: '', speed: '1g', index: 0 }] })
    expect(parseConduit('?10g1, +1g0')).toEqual({ ok: true, value: [{ sign: '?', speed: '10g', index: 1 }, { sign: '+', speed: '1g', index: 0 }] })
    expect(parseConduit('eth0')).toMatchObject({ ok: false, message: expect.stringMatching(/"eth0" in conduit "eth0" is not an interface reference/) })
    expect(parseConduit('1g0,')).toMatchObject({ ok: false, message: expect.stringMatching(/empty part/) })
    expect(parseConduit('3g0')).toMatchObject({ ok: false })
  })

  it('one virtio NIC (no speed) is 1g0, and ?1g0 and +1g0 find it; 1g1 names what the node has', () => {
    expect(speedClassOf(ONE_VIRTIO[0] as DiscoveredNic)).toBe('1g')
    for (const c of ['1g0', '?1g0', '+1g0', '-10g0']) expect(resolveConduit(c, ONE_VIRTIO, ctx)).toEqual({ ok: true, value: { interfaces: ['eth0'], bond: false } })
    const missing = resolveConduit('1g1', ONE_VIRTIO, ctx)
    expect(missing).toEqual({ ok: false, message: 'network storage: conduit 1g1 names 1g1 (the 2nd interface of 1g), which node n1.lab.test does not have; it has eth0 (1g, speed unknown, 0000:00:03.0)' })
  })

  it('two NICs at different speeds: each speed counts from 0 in bus order, and a sign allows another speed', () => {
    expect(busOrder(ONE_AND_TEN).map((n) => n.name)).toEqual(['eno1', 'enp65s0f0'])
    expect(resolveConduit('1g0', ONE_AND_TEN, ctx)).toMatchObject({ ok: true, value: { interfaces: ['eno1'] } })
    expect(resolveConduit('10g0', ONE_AND_TEN, ctx)).toMatchObject({ ok: true, value: { interfaces: ['enp65s0f0'] } })
    // No second 1g port: exact fails, + takes the 10g one (the second interface of 1g or faster counts per speed).
    expect(resolveConduit('1g1', ONE_AND_TEN, ctx)).toMatchObject({ ok: false, message: expect.stringContaining('it has eno1 (1g, 0000:02:00.0), enp65s0f0 (10g, 0000:41:00.0)') })
    expect(resolveConduit('+10g0', ONE_AND_TEN, ctx)).toMatchObject({ ok: true, value: { interfaces: ['enp65s0f0'] } })
    expect(resolveConduit('-10g1', ONE_AND_TEN, ctx)).toMatchObject({ ok: false })
    expect(resolveConduit('?40g0', ONE_AND_TEN, ctx)).toMatchObject({ ok: true, value: { interfaces: ['enp65s0f0'] } })
    expect(resolveConduit('1g0,10g0', ONE_AND_TEN, ctx)).toEqual({ ok: true, value: { interfaces: ['eno1', 'enp65s0f0'], bond: true } })
    expect(resolveConduit('1g0,?1g0', ONE_AND_TEN, ctx)).toMatchObject({ ok: false, message: expect.stringMatching(/names eno1 twice on node n1\.lab\.test/) })
  })

  it('four NICs: bus order by default, a model interface map reorders them, another model is not affected', () => {
    expect(resolveConduit('1g0,1g1', FOUR, ctx)).toEqual({ ok: true, value: { interfaces: ['eth0', 'eth1'], bond: true } })
    const maps = [{ pattern: '^PowerEdge R6[0-9]0$', bus_order: ['0000:05:00.0', '0000:05:00.1', '0000:01:00.0', '0000:01:00.1'] }]
    expect(resolveConduit('1g0,1g1', FOUR, { ...ctx, model: 'PowerEdge R640', interfaceMaps: maps })).toEqual({ ok: true, value: { interfaces: ['eth2', 'eth3'], bond: true } })
    expect(resolveConduit('1g3', FOUR, { ...ctx, model: 'PowerEdge R640', interfaceMaps: maps })).toMatchObject({ ok: true, value: { interfaces: ['eth1'] } })
    expect(resolveConduit('1g0', FOUR, { ...ctx, model: 'ProLiant DL360', interfaceMaps: maps })).toMatchObject({ ok: true, value: { interfaces: ['eth0'] } })
    // A broken pattern in a map is ignored, not a crash.
    expect(resolveConduit('1g0', FOUR, { ...ctx, model: 'x', interfaceMaps: [{ pattern: '(', bus_order: [] }] })).toMatchObject({ ok: true })
  })

  it('a node with no inventory says so', () => {
    expect(resolveConduit('1g0', [], ctx)).toMatchObject({ ok: false, message: expect.stringMatching(/it has no network interfaces in its inventory/) })
  })
})
