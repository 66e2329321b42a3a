// One way to undo: everything that owns a socket, timer, child process, hook or database handle is
// released through a Disposable, and composition collects them in a DisposableStore that unwinds in
// reverse (VS Code's base/common/lifecycle.ts is the model). No hand-written rollback anywhere.

export interface Disposable {
  /** Releases what it holds. Idempotent: a second call does nothing. */
  dispose(): Promise<void>
}

/** A Disposable from a function, called at most once however often it is disposed. */
export function toDisposable(release: () => void | Promise<void>): Disposable {
  let done: Promise<void> | undefined
  return {
    dispose() {
      done ??= Promise.resolve().then(release)
      return done
    }
  }
}

/** Nothing to release. */
export const NONE: Disposable = { dispose: () => Promise.resolve() }

/**
 * Collects disposables as they are acquired; `dispose()` releases them newest first. A failure in
 * one release does not stop the others: the first error is thrown once all have run.
 */
export class DisposableStore implements Disposable {
  private readonly held: Disposable[] = []
  private disposed: Promise<void> | undefined

  get isDisposed(): boolean {
    return this.disposed !== undefined
  }

  /** Keeps `d` for the next dispose; added after disposal, it is released at once. */
  add<T extends Disposable>(d: T): T {
    if (this.disposed) void d.dispose().catch(() => undefined)
    else this.held.push(d)
    return d
  }

  dispose(): Promise<void> {
    this.disposed ??= this.unwind()
    return this.disposed
  }

  private async unwind(): Promise<void> {
    let first: { err: unknown } | undefined
    while (this.held.length > 0) {
      const d = this.held.pop() as Disposable
      try {
        await d.dispose()
      } catch (err) {
        first ??= { err }
      }
    }
    if (first) throw first.err
  }
}

/**
 * Runs `build` with a fresh store; if it throws, everything it had acquired is released (newest
 * first) and the error is rethrown. On success the caller owns the store.
 */
export async function composing<T>(build: (store: DisposableStore) => Promise<T>): Promise<{ value: T; store: DisposableStore }> {
  const store = new DisposableStore()
  try {
    return { value: await build(store), store }
  } catch (err) {
    await store.dispose().catch(() => undefined)
    throw err
  }
}
