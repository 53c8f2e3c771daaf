import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type Block, blockSignatureChecks, type SignatureCheck, verifyBytes } from "@cardio/core";
import { errorFields, type Logger, silentLogger } from "../logger.js";

/*
 * The worker's whole program, run with `eval`: plain JavaScript, so the same pool works from the tsc
 * build, from the TypeScript sources under vitest or tsx, and from an esbuild bundle, none of which
 * has to locate (or be able to load) a separate worker file. It verifies exactly as core `verifyBytes`
 * does, with libsodium's Ed25519 (sodium-native), loaded from the path this module resolved: an
 * `eval` worker's own `require` resolves from the working directory, not from this package.
 *
 * A job is one transferred buffer of records `publicKey (32) ‖ signature (64) ‖ u32be length ‖ message`
 * and the answer one byte per record, 1 when the signature verifies.
 */
const WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const sodium = require(workerData.sodiumPath);
parentPort.on("message", (job) => {
  const b = new Uint8Array(job.buffer);
  const view = new DataView(job.buffer);
  const out = new Uint8Array(job.count);
  let o = 0;
  for (let i = 0; i < job.count; i++) {
    const len = view.getUint32(o + 96);
    try {
      out[i] = sodium.crypto_sign_verify_detached(b.subarray(o + 32, o + 96), b.subarray(o + 100, o + 100 + len), b.subarray(o, o + 32)) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
    o += 100 + len;
  }
  parentPort.postMessage({ id: job.id, out }, [out.buffer]);
});
`;

/** Where the workers load libsodium from (see `WORKER_SOURCE`); undefined if it cannot be resolved. */
function sodiumPath(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve("sodium-native");
  } catch {
    return undefined;
  }
}

const RECORD_HEADER_BYTES = 100;

/** Options of `createVerifierPool`. */
export interface VerifierPoolOptions {
  /**
   * Worker threads (default: the available cores minus one for the calling thread, at least 1, at most
   * 4). 0 verifies on the calling thread, as does a pool whose workers cannot be started.
   */
  size?: number;
  /** Where a worker that failed to start or died is reported (default silent). */
  logger?: Logger;
}

/**
 * Ed25519 signature checks off the calling thread. Workers are spawned on the first job after `start`
 * (a node that never syncs a range never starts one) and terminated by `stop`. Jobs wait in a queue
 * and each worker is handed at most two at a time, so a caller about to wait for a job that no worker
 * has taken yet can run it itself (`expedite`): the calling thread verifies whenever it would otherwise
 * idle, and the workers the rest.
 *
 * Every job resolves, never rejects: without workers (none configured, spawning failed, a worker died)
 * the checks run on the calling thread, with the same results. `true` always means the signature
 * verified; `false` means it did not, or (only for jobs cut short by `stop`) that it was not checked:
 * either way, the caller must verify it itself before accepting it.
 */
export interface VerifierPool {
  /** Allows workers to be spawned (lazily). */
  start(): void;
  /** Terminates every worker; jobs still pending resolve with every check `false` (not verified). */
  stop(): Promise<void>;
  /** For each check, whether its signature verifies. */
  verify(checks: readonly SignatureCheck[]): Promise<boolean[]>;
  /**
   * For each block, whether every check of `blockSignatureChecks(block, chainId)` (the header's and each
   * transaction's signature) verifies: what `applyBlock`'s `signaturesVerified` asks for.
   */
  verifyBlocks(blocks: readonly Block[], chainId: string): Promise<boolean[]>;
  /**
   * If the job behind `result` (a promise from `verify` or `verifyBlocks`) is still queued, runs it on
   * the calling thread now, so the promise is settled when this returns; otherwise does nothing.
   */
  expedite(result: Promise<boolean[]>): void;
  /** Worker threads currently running. */
  readonly threads: number;
}

interface Job {
  checks: readonly SignatureCheck[];
  resolve: (ok: boolean[]) => void;
  state: "queued" | "sent" | "done";
}

interface Slot {
  worker: Worker;
  /**
   * Jobs sent to this worker and not answered yet, by id, with the indexes of the checks sent (a check
   * with a malformed key or signature length is not sent: it fails, as `verifyBytes` says).
   */
  pending: Map<number, { job: Job; sent: readonly number[] }>;
}

/** Jobs handed to one worker at a time: the next is there when it finishes one, whatever the caller does. */
const MAX_JOBS_PER_WORKER = 2;

/** The default pool size: cores minus one, between 1 and 4. */
export function defaultVerifierThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** Creates a pool of signature-verifying worker threads (see `VerifierPool`). */
export function createVerifierPool(opts: VerifierPoolOptions = {}): VerifierPool {
  const size = opts.size ?? defaultVerifierThreads();
  const log = opts.logger ?? silentLogger;
  let slots: Slot[] = [];
  let started = false;
  /** Set once a worker failed to start or died: the calling thread verifies from then on (logged once). */
  let unavailable = false;
  let nextId = 1;
  const queue: Job[] = [];
  const jobOf = new WeakMap<Promise<boolean[]>, Job>();

  function verifyHere(checks: readonly SignatureCheck[]): boolean[] {
    return checks.map((c) => verifyBytes(c.publicKey, c.message, c.signature));
  }

  function settle(job: Job, ok: boolean[]): void {
    if (job.state === "done") return;
    job.state = "done";
    job.resolve(ok);
  }

  function spawn(): void {
    while (slots.length < size) {
      let worker: Worker;
      try {
        const path = sodiumPath();
        if (path === undefined) throw new Error("cannot resolve sodium-native for the verifier threads");
        worker = new Worker(WORKER_SOURCE, {
          eval: true,
          name: "cardio-verifier",
          workerData: { sodiumPath: path },
        });
      } catch (err) {
        unavailable = true;
        log.warn(errorFields(err), "signature verifier threads unavailable; verifying on the main thread");
        return;
      }
      // Never what keeps a process alive: `stop` ends it, and a forgotten pool must not hang an exit.
      worker.unref();
      const slot: Slot = { worker, pending: new Map() };
      worker.on("message", (msg: { id: number; out: Uint8Array }) => {
        const p = slot.pending.get(msg.id);
        if (p === undefined) return;
        slot.pending.delete(msg.id);
        const ok = new Array<boolean>(p.job.checks.length).fill(false);
        for (let i = 0; i < p.sent.length; i++) ok[p.sent[i]!] = msg.out[i] === 1;
        settle(p.job, ok);
        dispatch();
      });
      const fail = (err: unknown) => {
        if (!slots.includes(slot)) return;
        slots = slots.filter((s) => s !== slot);
        if (started && !unavailable) {
          // Not again: a worker that cannot run once will not run next time either.
          unavailable = true;
          log.warn(
            errorFields(err),
            "signature verifier thread failed; verifying on the main thread from now on",
          );
        }
        void slot.worker.terminate().catch(() => undefined);
        const jobs = [...slot.pending.values()];
        slot.pending.clear();
        for (const p of jobs) settle(p.job, verifyHere(p.job.checks));
        if (slots.length === 0) drainHere();
      };
      worker.on("error", fail);
      worker.on("exit", (code) => fail(new Error(`verifier thread exited with code ${code}`)));
      slots.push(slot);
    }
  }

  /** Runs every queued job on the calling thread (no worker is left to take them). */
  function drainHere(): void {
    for (const job of queue.splice(0)) settle(job, verifyHere(job.checks));
  }

  /** Hands queued jobs to workers with room for them. */
  function dispatch(): void {
    while (queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of slots) {
        if (
          s.pending.size < MAX_JOBS_PER_WORKER &&
          (slot === undefined || s.pending.size < slot.pending.size)
        )
          slot = s;
      }
      if (slot === undefined) return;
      send(slot, queue.shift()!);
    }
  }

  function send(slot: Slot, job: Job): void {
    const { checks } = job;
    const sent: number[] = [];
    let bytes = 0;
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      // What `verifyBytes` refuses without asking libsodium is refused here too, without being sent.
      if (c.publicKey.length !== 32 || c.signature.length !== 64) continue;
      sent.push(i);
      bytes += RECORD_HEADER_BYTES + c.message.length;
    }
    const buf = Buffer.allocUnsafeSlow(bytes);
    let o = 0;
    for (const i of sent) {
      const c = checks[i]!;
      buf.set(c.publicKey, o);
      buf.set(c.signature, o + 32);
      buf.writeUInt32BE(c.message.length, o + 96);
      buf.set(c.message, o + RECORD_HEADER_BYTES);
      o += RECORD_HEADER_BYTES + c.message.length;
    }
    const id = nextId++;
    job.state = "sent";
    slot.pending.set(id, { job, sent });
    const buffer = buf.buffer;
    slot.worker.postMessage({ id, buffer, count: sent.length }, [buffer]);
  }

  function verify(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (checks.length === 0) return Promise.resolve([]);
    if (started && !unavailable && slots.length < size) spawn();
    if (!started || unavailable || slots.length === 0) return Promise.resolve(verifyHere(checks));
    let job: Job | undefined;
    const result = new Promise<boolean[]>((resolve) => {
      job = { checks, resolve, state: "queued" };
    });
    jobOf.set(result, job!);
    queue.push(job!);
    dispatch();
    return result;
  }

  return {
    start() {
      started = true;
    },
    async stop() {
      started = false;
      const stopping = slots;
      slots = [];
      const notVerified = (job: Job) => settle(job, new Array<boolean>(job.checks.length).fill(false));
      // Nobody will use these answers, and verifying them here would only hold up the stop.
      for (const job of queue.splice(0)) notVerified(job);
      for (const slot of stopping) {
        for (const p of slot.pending.values()) notVerified(p.job);
        slot.pending.clear();
      }
      await Promise.all(stopping.map((s) => s.worker.terminate().catch(() => undefined)));
    },
    verify,
    verifyBlocks(blocks, chainId) {
      const checks: SignatureCheck[] = [];
      const ends: number[] = [];
      for (const b of blocks) {
        for (const c of blockSignatureChecks(b, chainId)) checks.push(c);
        ends.push(checks.length);
      }
      const inner = verify(checks);
      const outer = inner.then((ok) => {
        let from = 0;
        return ends.map((end) => {
          let all = true;
          for (let i = from; i < end; i++) all &&= ok[i]!;
          from = end;
          return all;
        });
      });
      const job = jobOf.get(inner);
      if (job !== undefined) jobOf.set(outer, job);
      return outer;
    },
    expedite(result) {
      const job = jobOf.get(result);
      if (job === undefined || job.state !== "queued") return;
      queue.splice(queue.indexOf(job), 1);
      settle(job, verifyHere(job.checks));
    },
    get threads() {
      return slots.length;
    },
  };
}
