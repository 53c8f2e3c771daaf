import pino from "pino";
import pretty from "pino-pretty";

/** The logging surface every node component takes: pino-compatible, `logger.info({ field }, "msg")`. */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

const noop = (): void => {};

/** Drops everything: the default of every factory, so tests stay quiet unless they ask. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Options of `createLogger`. */
export interface CreateLoggerOptions {
  /** Minimum level (default `info`). */
  level?: string;
  /** Name shown on every line (default none). */
  name?: string;
  /** Human-readable lines instead of JSON (default: when stdout is a terminal). */
  pretty?: boolean;
  /** Where JSON lines go (default stdout). */
  destination?: NodeJS.WritableStream;
}

/** A pino logger: JSON lines when not a terminal, readable colour lines in one. */
export function createLogger(opts: CreateLoggerOptions = {}): pino.Logger {
  const base = {
    level: opts.level ?? "info",
    ...(opts.name === undefined ? {} : { name: opts.name }),
    // Secrets must never reach a log: redact anything named like a key.
    redact: { paths: ["privateKey", "seed", "*.privateKey", "*.seed"], remove: true },
  };
  const usePretty = opts.pretty ?? process.stdout.isTTY === true;
  if (usePretty) {
    return pino(
      base,
      pretty({
        colorize: true,
        translateTime: "HH:MM:ss.l",
        ignore: "pid,hostname",
        singleLine: true,
        sync: true,
      }),
    );
  }
  return opts.destination === undefined
    ? pino(base)
    : pino(base, opts.destination as unknown as pino.DestinationStream);
}

/** Turns anything thrown into fields a structured log can show. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return { err: { name: err.name, message: err.message, code: (err as { code?: unknown }).code } };
  }
  return { err: String(err) };
}
