// Process lifecycle of the PostgreSQL test servers: PID checks, signals, graceful and forced
// shutdown, and a registry that kills servers left running when the Node process exits.

import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const SHUTDOWN_TIMEOUT_MS = 10_000;
const KILL_TIMEOUT_MS = 5_000;

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Guards against signalling an unrelated process that reused the PID: the postmaster
 * keeps its original argv, which names our unique data directory.
 */
function isOurPostmaster(pid: number, dataDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir);
  } catch {
    // Without /proc (non-Linux) we cannot tell; liveness is the best we have.
    return process.platform !== 'linux' && processExists(pid);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Resolves true if the child exited within the time limit. */
function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function waitUntilGone(pid: number, dataDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isOurPostmaster(pid, dataDir)) {
    if (Date.now() >= deadline) return false;
    await delay(50);
  }
  return true;
}

/** postmaster.pid starts with the postmaster's PID on its first line. */
function parsePid(postmasterPidFile: string): number | undefined {
  const pid = Number.parseInt(postmasterPidFile.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Servers still running in this process, killed synchronously if the process exits without stop(). */
export interface LiveServer {
  readonly dir: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** True when the child is `runuser` rather than postgres itself. */
  readonly wrapped: boolean;
  postmasterPid: number | undefined;
}

const liveServers = new Set<LiveServer>();
let exitHookInstalled = false;

function readPostmasterPidSync(dataDir: string): number | undefined {
  try {
    return parsePid(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

function killOnExit(): void {
  for (const server of liveServers) {
    const pid = server.postmasterPid ?? readPostmasterPidSync(server.dataDir);
    if (pid !== undefined && isOurPostmaster(pid, server.dataDir)) {
      // Only the postmaster: its `runuser` parent then reaps it and exits by itself,
      // whereas killing runuser too would leave the postmaster to be reaped by init.
      signal(pid, 'SIGKILL');
    } else if (server.child.pid !== undefined && server.child.exitCode === null) {
      // Still starting up: runuser relays SIGTERM to postgres and escalates to SIGKILL itself;
      // without a wrapper the child is postgres and can be killed outright.
      signal(server.child.pid, server.wrapped ? 'SIGTERM' : 'SIGKILL');
    }
    try {
      rmSync(server.dir, { recursive: true, force: true });
    } catch {
      // Best effort: the dying postmaster may still hold files open.
    }
  }
  liveServers.clear();
}

export function track(server: LiveServer): void {
  if (!exitHookInstalled) {
    process.on('exit', killOnExit);
    exitHookInstalled = true;
  }
  liveServers.add(server);
}

export function untrack(server: LiveServer): void {
  liveServers.delete(server);
}

export async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    return parsePid(await readFile(join(dataDir, 'postmaster.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Ends the postmaster first and only then the wrapper: `runuser` forks and waits, so it
 * reaps the postmaster; killing runuser first would orphan the postmaster instead.
 */
export async function shutdown(server: LiveServer): Promise<void> {
  const { child, dataDir } = server;
  // Never spawned (e.g. ENOENT): there is nothing to wait for, and no 'exit' event will come.
  if (child.pid === undefined) return;
  const pid = server.postmasterPid ?? (await readPostmasterPid(dataDir));
  if (pid !== undefined && isOurPostmaster(pid, dataDir)) {
    // SIGINT is PostgreSQL's "fast" shutdown: disconnects clients instead of waiting for them.
    signal(pid, 'SIGINT');
  } else {
    // runuser relays SIGTERM (and escalates on its own); a bare postgres child gets a fast shutdown.
    signal(child.pid, server.wrapped ? 'SIGTERM' : 'SIGINT');
  }
  let exited = await waitForExit(child, SHUTDOWN_TIMEOUT_MS);
  if (!exited) {
    if (pid !== undefined && isOurPostmaster(pid, dataDir)) signal(pid, 'SIGKILL');
    signal(child.pid, 'SIGKILL');
    exited = await waitForExit(child, KILL_TIMEOUT_MS);
  }
  // The wrapper may have died without reaping (e.g. killed externally), leaving an orphaned postmaster.
  if (pid !== undefined && !(await waitUntilGone(pid, dataDir, exited ? 1_000 : KILL_TIMEOUT_MS))) {
    signal(pid, 'SIGKILL');
    await waitUntilGone(pid, dataDir, KILL_TIMEOUT_MS);
  }
}
