#!/usr/bin/env node
import { runCli } from "../cli/program.js";

/** Grace period for open handles (sockets, timers) to close after a command has finished. */
const EXIT_GRACE_MS = 2000;

// `cardio chain | head` closes the pipe early: that is the reader's choice, not an error to report.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await runCli(process.argv);
process.exitCode = code;
// Normally the event loop is empty by now and Node exits at once; if a library left a handle open,
// exit anyway rather than hang a finished command. Stdout and stderr are synchronous on Linux.
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
