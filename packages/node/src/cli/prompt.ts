import { clearLine, createInterface, cursorTo, type Interface } from "node:readline";
import { CliError } from "./cliError.js";

/*
 * Asking a person for a value, as the tutorial did ("Enter token balance:"). Only in a terminal:
 * a script piping into `cardio` would otherwise hang on a question nobody sees, so without a TTY a
 * missing value is an immediate one-line error instead (`requireTerminal`).
 */

/** True when stdin is a terminal, so a missing value may be asked for. */
export function isInteractive(): boolean {
  return process.stdin.isTTY === true;
}

/** Throws `CliError` `<what> required` unless stdin is a terminal. */
export function requireTerminal(what: string, hint: string): void {
  if (!isInteractive()) {
    throw new CliError(
      "MISSING_VALUE",
      `${what} required: ${hint} (stdin is not a terminal, so cardio cannot ask)`,
      {
        exitCode: 2,
      },
    );
  }
}

/**
 * A line prompt on a terminal that other output may interleave with: `print` writes a line above
 * the prompt and redraws the prompt with whatever the person had typed, so a slot announcement
 * never lands in the middle of their input.
 */
export class Prompter {
  private readonly rl: Interface;
  private readonly output: NodeJS.WriteStream;
  private readonly terminal: boolean;
  private readonly queued: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private prompting = false;
  private closed = false;

  constructor(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout) {
    this.output = output;
    this.terminal = input.isTTY === true && output.isTTY === true;
    this.rl = createInterface({ input, output, terminal: this.terminal });
    this.rl.on("line", (line) => {
      const waiting = this.waiting;
      if (waiting === undefined) {
        // Typed while busy (e.g. submitting): answers the next question.
        this.queued.push(line);
        return;
      }
      this.waiting = undefined;
      this.prompting = false;
      waiting(line);
    });
    this.rl.on("close", () => {
      this.closed = true;
      this.prompting = false;
      this.waiting?.(undefined);
      this.waiting = undefined;
    });
  }

  /** Calls `handler` on Ctrl-C (instead of readline's default of pausing). */
  onInterrupt(handler: () => void): void {
    this.rl.on("SIGINT", handler);
  }

  /** Shows `question` and resolves with the next line, or undefined once input has ended (EOF). */
  ask(question: string): Promise<string | undefined> {
    const queued = this.queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(undefined);
    this.rl.setPrompt(question);
    this.prompting = true;
    this.rl.prompt();
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Asks until `parse` accepts the answer, printing each refusal's one-line reason. Undefined on EOF. */
  async askValid<T>(question: string, parse: (text: string) => T): Promise<T | undefined> {
    for (;;) {
      const line = await this.ask(question);
      if (line === undefined) return undefined;
      try {
        return parse(line);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        this.print(err.message);
      }
    }
  }

  /** Writes one line of output, above the prompt if one is showing. */
  print(line: string): void {
    if (this.prompting && this.terminal && !this.closed) {
      clearLine(this.output, 0);
      cursorTo(this.output, 0);
      this.output.write(`${line}\n`);
      this.rl.prompt(true);
    } else {
      this.output.write(`${line}\n`);
    }
  }

  /** Stops reading input. */
  close(): void {
    if (!this.closed) this.rl.close();
  }
}
