import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, it, expect, afterEach } from 'vitest';
import { startPostgresTestServer, type PostgresTestServer } from './postgres-test-server.js';

async function queryOne(url: string, sql: string): Promise<Record<string, unknown>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<Record<string, unknown>>(sql);
    const row = result.rows[0];
    if (row === undefined) throw new Error(`no rows from: ${sql}`);
    return row;
  } finally {
    await client.end();
  }
}

function errnoOfSignal0(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

describe('startPostgresTestServer', () => {
  let server: PostgresTestServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('serves queries on its url', async () => {
    server = await startPostgresTestServer();
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(await queryOne(server.url, 'select 1 as one')).toEqual({ one: 1 });
  });

  it('creates an empty database that can be connected to by its returned url', async () => {
    server = await startPostgresTestServer();
    const url = await server.createDatabase('crowbar_test_db');
    expect(url).toMatch(/\/crowbar_test_db$/);
    expect(await queryOne(url, 'select current_database() as db')).toEqual({ db: 'crowbar_test_db' });
    expect(
      await queryOne(url, "select count(*)::int as n from pg_tables where schemaname = 'public'"),
    ).toEqual({ n: 0 });
  });

  it('rejects database names that are not plain lowercase identifiers', async () => {
    server = await startPostgresTestServer();
    await expect(server.createDatabase('Bad"Name')).rejects.toThrow(/invalid database name/);
    await expect(server.createDatabase('')).rejects.toThrow(/invalid database name/);
  });

  it('stop ends the postmaster and removes its temp dir, and can be called again', async () => {
    const started = await startPostgresTestServer();
    server = started;
    expect(errnoOfSignal0(started.pid)).toBeUndefined();
    expect(existsSync(started.dir)).toBe(true);

    await started.stop();

    expect(errnoOfSignal0(started.pid)).toBe('ESRCH');
    expect(existsSync(started.dir)).toBe(false);
    await expect(started.stop()).resolves.toBeUndefined();
  });

  it('stop disconnects open clients instead of waiting for them', async () => {
    const started = await startPostgresTestServer();
    server = started;
    const client = new pg.Client({ connectionString: started.url });
    client.on('error', () => undefined);
    await client.connect();

    const t0 = Date.now();
    await started.stop();

    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(errnoOfSignal0(started.pid)).toBe('ESRCH');
    await client.end().catch(() => undefined);
  });
});
