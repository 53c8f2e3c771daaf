/**
 * The logging surface the network layer needs: pino-compatible (`logger.info({ peer }, "msg")`), so a
 * pino logger can be passed as is, while tests can pass a recorder and the default stays silent.
 */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

const noop = (): void => {};

/** A logger that drops everything; the default of every network factory. */
export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Turns anything thrown into something a structured log can show. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return { err: { name: err.name, message: err.message, code: (err as { code?: unknown }).code } };
  }
  return { err: String(err) };
}
