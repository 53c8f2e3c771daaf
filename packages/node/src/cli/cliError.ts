/** Exit codes of `cardio`: 0 success, 1 a failure at run time, 2 bad usage or input. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** Stopped by Ctrl-C, as shells report a SIGINT (128 + 2). */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can act on: shown as one line `error: <message>`, never with a stack trace
 * (unless `--debug`). `code` is machine-readable (`INVALID_INPUT`, `NODE_UNREACHABLE`, or the
 * node's own API code such as `TX_NONCE_TOO_LOW`).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(oneLine(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.exitCode = opts.exitCode ?? ExitCode.FAILURE;
  }
}

/** A refused flag or argument: exit code 2, like commander's own usage errors. */
export function inputError(message: string): CliError {
  return new CliError("INVALID_INPUT", message, { exitCode: ExitCode.USAGE });
}

/** Collapses whitespace runs (including newlines) so an error always fits on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}
