// Test harness: starts a throwaway PostgreSQL server from the locally installed
// binaries in a temp directory, and tears it down (process and files) afterwards.

import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { delay, readPostmasterPid, shutdown, track, untrack, type LiveServer } from './postgres-test-process.js';

const execFileAsync = promisify(execFile);

export interface PostgresTestServer {
  readonly url: string;
  /** PID of the postmaster itself (not of the `runuser` wrapper). */
  readonly pid: number;
  /** Temp directory holding the cluster and the unix socket; removed by stop(). */
  readonly dir: string;
  stop(): Promise<void>;
  /** Creates a fresh empty database and returns a postgres:// URL for it. */
  createDatabase(name: string): Promise<string>;
}

export interface StartPostgresTestServerOptions {
  log?: (line: string) => void;
}

export class PostgresUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresUnavailableError';
  }
}

const PG_ROOT = '/usr/lib/postgresql';
const PG_USER = 'postgres';
const INITDB_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 100;
const PORT_ATTEMPTS = 3;
const STDERR_TAIL_LINES = 40;
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INSTALL_HINT = 'Install it with: apt-get install postgresql';

interface PgBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian installs each major version side by side; the newest one wins. */
async function findBinaries(): Promise<PgBinaries> {
  let entries: string[];
  try {
    entries = await readdir(PG_ROOT);
  } catch {
    throw new PostgresUnavailableError(`PostgreSQL server binaries not found (no ${PG_ROOT}). ${INSTALL_HINT}`);
  }
  const versions = entries
    .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const version of versions) {
    const bin = join(PG_ROOT, version, 'bin');
    const initdb = join(bin, 'initdb');
    const postgres = join(bin, 'postgres');
    if ((await isExecutable(initdb)) && (await isExecutable(postgres))) {
      return { initdb, postgres };
    }
  }
  throw new PostgresUnavailableError(
    `PostgreSQL server binaries (initdb, postgres) not found in ${PG_ROOT}/*/bin. ${INSTALL_HINT}`,
  );
}

interface RunAs {
  /** Prefix for every server command; empty when we can run it as ourselves. */
  readonly prefix: readonly string[];
  readonly uid?: number;
  readonly gid?: number;
}

/** PostgreSQL refuses to run as root, so as root we drop to the `postgres` user. */
async function resolveRunAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { prefix: [] };
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', PG_USER], { timeout: 5_000 }),
      execFileAsync('id', ['-g', PG_USER], { timeout: 5_000 }),
    ]);
    return {
      prefix: ['runuser', '-u', PG_USER, '--'],
      uid: Number.parseInt(uid.stdout.trim(), 10),
      gid: Number.parseInt(gid.stdout.trim(), 10),
    };
  } catch {
    throw new PostgresUnavailableError(
      `Running as root but there is no '${PG_USER}' user to run PostgreSQL as. ${INSTALL_HINT}`,
    );
  }
}

function command(runAs: RunAs, argv: readonly string[]): [string, string[]] {
  const full = [...runAs.prefix, ...argv];
  const [file, ...args] = full;
  if (file === undefined) throw new Error('empty command');
  return [file, args];
}

/** Inherently racy (the port may be taken before postgres binds it), hence the retry in start. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

class LineTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(
    private readonly max: number,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  text(): string {
    return [...this.lines, this.partial].filter((line) => line.length > 0).join('\n');
  }

  private add(line: string): void {
    this.log?.(line);
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
}

async function tryConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  // A refused connection is the expected "not yet" answer; don't let it surface as an unhandled event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Launched {
  readonly server: LiveServer;
  readonly port: number;
  readonly url: string;
}

async function launch(
  binaries: PgBinaries,
  runAs: RunAs,
  dir: string,
  dataDir: string,
  log: ((line: string) => void) | undefined,
): Promise<Launched> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort();
    const [file, args] = command(runAs, [
      binaries.postgres,
      '-D', dataDir,
      '-k', dir,
      '-h', '127.0.0.1',
      '-p', String(port),
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ]);
    const output = new LineTail(STDERR_TAIL_LINES, log);
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk));
    // A test that forgets stop() must not keep the process alive; the exit hook cleans up instead.
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
    });

    const server: LiveServer = { dir, dataDir, child, wrapped: runAs.prefix.length > 0, postmasterPid: undefined };
    track(server);
    const url = `postgres://${PG_USER}@127.0.0.1:${port}/postgres`;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let ready = false;
    while (Date.now() < deadline) {
      if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) break;
      if (await tryConnect(url)) {
        ready = true;
        break;
      }
      await delay(READY_POLL_MS);
    }
    if (ready) {
      server.postmasterPid = await readPostmasterPid(dataDir);
      if (server.postmasterPid !== undefined) return { server, port, url };
    }

    await shutdown(server);
    untrack(server);
    const tail = output.text();
    const reason =
      spawnError !== undefined
        ? `could not spawn ${file}: ${spawnError.message}`
        : ready
          ? 'server accepted connections but wrote no readable postmaster.pid'
          : child.exitCode !== null || child.signalCode !== null
            ? `server exited early (code ${String(child.exitCode)}, signal ${String(child.signalCode)})`
            : `server did not accept connections within ${READY_TIMEOUT_MS} ms`;
    lastError = new Error(`PostgreSQL test server failed to start: ${reason}\n--- server output (tail) ---\n${tail}`);
    // Only a lost race for the port is worth retrying; anything else will fail the same way again.
    if (!/could not bind|address already in use/i.test(tail)) break;
  }
  throw lastError ?? new Error('PostgreSQL test server failed to start');
}

export async function startPostgresTestServer(options: StartPostgresTestServerOptions = {}): Promise<PostgresTestServer> {
  const binaries = await findBinaries();
  const runAs = await resolveRunAs();
  const dir = await mkdtemp(join(tmpdir(), 'crowbar-pg-'));
  const dataDir = join(dir, 'data');
  let launched: Launched;
  try {
    if (runAs.uid !== undefined && runAs.gid !== undefined) await chown(dir, runAs.uid, runAs.gid);
    const [file, args] = command(runAs, [
      binaries.initdb,
      '-D', dataDir,
      '-A', 'trust',
      '-U', PG_USER,
      '--no-sync',
      '-E', 'UTF8',
      '--no-locale',
    ]);
    try {
      await execFileAsync(file, args, { timeout: INITDB_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stderr, stdout, message } = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`initdb failed: ${message}\n${stderr ?? ''}${stdout ?? ''}`.trimEnd(), { cause: error });
    }
    launched = await launch(binaries, runAs, dir, dataDir, options.log);
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }

  const { server, port, url } = launched;
  const pid = server.postmasterPid;
  if (pid === undefined) throw new Error('unreachable: launch returned without a postmaster pid');
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await shutdown(server);
      } finally {
        untrack(server);
        await rm(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  const createDatabase = async (name: string): Promise<string> => {
    if (!DATABASE_NAME.test(name)) {
      throw new Error(`invalid database name ${JSON.stringify(name)}: must match ${String(DATABASE_NAME)}`);
    }
    if (stopping !== undefined) throw new Error('PostgreSQL test server has been stopped');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // Identifiers cannot be bound as parameters; the name was validated above, quoting keeps it literal.
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end().catch(() => undefined);
    }
    return `postgres://${PG_USER}@127.0.0.1:${port}/${name}`;
  };

  return { url, pid, dir, stop, createDatabase };
}
