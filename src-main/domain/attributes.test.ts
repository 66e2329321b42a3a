import { describe, expect, it } from 'vitest'
import { deepMerge, mergeLayers, parseJsonObject } from './attributes'

describe('attribute layers', () => {
  it('merges objects key by key and replaces arrays and scalars', () => {
    expect(deepMerge({ a: { x: 1, y: [1, 2] }, b: 1 }, { a: { y: [3] }, c: null })).toEqual({ a: { x: 1, y: [3] }, b: 1, c: null })
  })

  it('lets each layer override the ones before: defaults < deployment < parents < system < user', () => {
    const merged = mergeLayers({
      role_defaults: { port: 1, name: 'default', only_default: true },
      deployment_role: { port: 2 },
      parents_wall: { port: 3, upstream: { ip: '10.0.0.1' } },
      system: { port: 4 },
      user: { port: 5, upstream: { tls: true } }
    })
    expect(merged).toEqual({ port: 5, name: 'default', only_default: true, upstream: { ip: '10.0.0.1', tls: true } })
  })

  it('reads corrupt or non-object JSON as empty', () => {
    expect(parseJsonObject('not json')).toEqual({})
    expect(parseJsonObject('[1]')).toEqual({})
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 })
  })
})
