// The reload discipline both live views share, with loads the test resolves by hand.
import { describe, expect, it, vi } from 'vitest'
import { coalescedLoader } from './coalesced-loader'

function manualLoads() {
  const waiting: Array<() => void> = []
  const load = vi.fn(() => new Promise<void>((resolve) => waiting.push(resolve)))
  const finishOne = async (): Promise<void> => {
    waiting.shift()?.()
    for (let i = 0; i < 5; i++) await Promise.resolve()
  }
  return { load, finishOne }
}

describe('coalesced loader', () => {
  it('runs one load at a time and turns any number of asks during it into one more load', async () => {
    const { load, finishOne } = manualLoads()
    const loader = coalescedLoader(load, 10)
    loader.run()
    loader.run()
    loader.run()
    expect(load).toHaveBeenCalledTimes(1)
    expect(loader.inFlight).toBe(true)
    await finishOne()
    expect(load).toHaveBeenCalledTimes(2)
    await finishOne()
    expect(load).toHaveBeenCalledTimes(2)
    expect(loader.inFlight).toBe(false)
  })

  it('coalesces a burst of scheduled runs into one after the delay, and runs none once disposed', async () => {
    vi.useFakeTimers()
    try {
      const { load } = manualLoads()
      const loader = coalescedLoader(load, 100)
      for (let i = 0; i < 20; i++) loader.schedule()
      vi.advanceTimersByTime(99)
      expect(load).not.toHaveBeenCalled()
      vi.advanceTimersByTime(1)
      expect(load).toHaveBeenCalledTimes(1)
      loader.schedule()
      loader.dispose()
      vi.advanceTimersByTime(1000)
      loader.run()
      expect(load).toHaveBeenCalledTimes(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps loading after a load that rejects', async () => {
    const load = vi.fn().mockRejectedValueOnce(new Error('offline')).mockResolvedValue(undefined)
    const loader = coalescedLoader(load, 10)
    loader.run()
    loader.run()
    for (let i = 0; i < 5; i++) await Promise.resolve()
    expect(load).toHaveBeenCalledTimes(2)
  })
})
