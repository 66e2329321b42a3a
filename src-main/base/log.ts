// Structured logs, one child logger per subsystem, on stderr (stdout carries the CLI's own lines).
import pino, { type Logger } from 'pino'

export type { Logger }

export function createRootLogger(level: string = process.env.CROWBAR_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }))
}
