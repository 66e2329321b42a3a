import { describe, expect, it } from 'vitest'
import { composing, DisposableStore, toDisposable } from './lifecycle'

describe('DisposableStore', () => {
  it('releases what it holds newest first, once', async () => {
    const order: string[] = []
    const store = new DisposableStore()
    store.add(toDisposable(() => void order.push('a')))
    store.add(toDisposable(async () => void order.push('b')))
    await Promise.all([store.dispose(), store.dispose()])
    await store.dispose()
    expect(order).toEqual(['b', 'a'])
  })

  it('goes on releasing after one release fails, then throws the first error', async () => {
    const order: string[] = []
    const store = new DisposableStore()
    store.add(toDisposable(() => void order.push('a')))
    store.add(toDisposable(() => Promise.reject(new Error('first'))))
    store.add(toDisposable(() => void order.push('c')))
    await expect(store.dispose()).rejects.toThrow('first')
    expect(order).toEqual(['c', 'a'])
  })

  it('releases at once what is added after it was disposed', async () => {
    const store = new DisposableStore()
    await store.dispose()
    let released = false
    store.add(toDisposable(() => void (released = true)))
    await new Promise((r) => setImmediate(r))
    expect(released).toBe(true)
  })

  it('composing unwinds what was acquired when the build fails', async () => {
    const order: string[] = []
    await expect(
      composing(async (s) => {
        s.add(toDisposable(() => void order.push('socket')))
        s.add(toDisposable(() => void order.push('timer')))
        throw new Error('port 67 is in use')
      })
    ).rejects.toThrow('port 67 is in use')
    expect(order).toEqual(['timer', 'socket'])
  })
})
