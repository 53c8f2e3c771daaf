import {
  addressFromPublicKey,
  encodeTx,
  type KeyPair,
  type PublicKey,
  signTx,
  type TxBody,
  toHex,
  txId,
} from "@cardio/core";
import { type ApiClient, ApiError } from "./apiClient.js";
import { CliError } from "./cliError.js";

/** What a transaction command asks for, without sender, nonce and fee. */
export type TxPayload =
  | { kind: "transfer"; to: PublicKey; amount: bigint }
  | { kind: "stake"; amount: bigint }
  | { kind: "unstake"; amount: bigint }
  | { kind: "bpm"; bpm: number };

/** A transaction the node accepted. */
export interface SentTx {
  id: string;
  nonce: number;
}

/** How often `waitIncluded` asks the node about a transaction. */
const POLL_MS = 500;
/**
 * Most nonces tried past the account's nonce when each is taken by a pending transaction. The
 * mempool holds at most 64 ahead of an account, so more would be refused anyway.
 */
const MAX_NONCE_PROBES = 64;

/**
 * Signs transactions locally with one key and submits them to one node. The chain id comes from
 * the node (`GET /status`) and goes into every signature, so a transaction signed for one chain
 * can never be replayed on another. Nonces come from the node too, unless given.
 */
export class TxSender {
  readonly address: string;

  private constructor(
    readonly client: ApiClient,
    private readonly key: KeyPair,
    readonly chainId: string,
  ) {
    this.address = addressFromPublicKey(key.publicKey);
  }

  /** Asks the node for its chain id; fails with the client's one-line error when unreachable. */
  static async connect(client: ApiClient, key: KeyPair): Promise<TxSender> {
    const status = await client.status();
    return new TxSender(client, key, status.chainId);
  }

  /**
   * Signs and submits `payload`. With an explicit `nonce`, exactly that one. Without, the
   * account's next nonce; while earlier transactions of this key are still pending the node
   * answers 409 for that nonce, and the next one is tried: the node's account view counts
   * included transactions only (unless it reports `pendingNonce`), and a new transaction must
   * not collide with, or replace, a pending one.
   */
  async send(payload: TxPayload, opts: { fee: bigint; nonce?: number }): Promise<SentTx> {
    if (opts.nonce !== undefined) {
      try {
        return await this.sendWithNonce(payload, opts.fee, opts.nonce);
      } catch (err) {
        throw refusal(err, opts.nonce, true);
      }
    }
    let nonce = await this.nextNonce();
    for (let probe = 0; ; probe++) {
      try {
        return await this.sendWithNonce(payload, opts.fee, nonce);
      } catch (err) {
        if (!(err instanceof ApiError) || probe >= MAX_NONCE_PROBES) throw refusal(err, nonce, false);
        if (codeIs(err.code, "NONCE_TOO_LOW")) {
          // A block included one of ours since we asked: ask again.
          nonce = Math.max(nonce + 1, await this.nextNonce());
        } else if (codeIs(err.code, "REPLACEMENT_UNDERPRICED") || codeIs(err.code, "DUPLICATE")) {
          nonce += 1;
        } else {
          throw refusal(err, nonce, false);
        }
      }
    }
  }

  /** The account's next nonce: the node's count of pending transactions when it gives one. */
  async nextNonce(): Promise<number> {
    const account = await this.client.account(this.address);
    return account?.pendingNonce ?? account?.nonce ?? 0;
  }

  private async sendWithNonce(payload: TxPayload, fee: bigint, nonce: number): Promise<SentTx> {
    const body = { ...payload, from: this.key.publicKey, nonce, fee } as TxBody;
    const tx = signTx(body, this.key, this.chainId);
    const id = await this.client.submitTx(encodeTx(tx));
    return { id: id === "" ? toHex(txId(tx)) : id, nonce };
  }

  /** Polls `GET /txs/:id` until the transaction is in a block; returns the block height. */
  async waitIncluded(id: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let unknownInARow = 0;
    for (;;) {
      const s = await this.client.txStatus(id);
      if (s.status === "included") {
        if (s.height === undefined)
          throw new CliError("BAD_RESPONSE", `the node says tx ${id} is included but not where`);
        return s.height;
      }
      if (s.status === "pending") unknownInARow = 0;
      else if (++unknownInARow >= 3) {
        // Once accepted, a transaction is pending or included; anything else for long means dropped.
        throw new CliError(
          "TX_DROPPED",
          `tx ${id} is ${s.status} at the node: it was dropped before inclusion`,
        );
      }
      if (Date.now() + POLL_MS > deadline) {
        throw new CliError(
          "WAIT_TIMEOUT",
          `tx ${id} is still not in a block after ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

function codeIs(code: string, suffix: string): boolean {
  return code.toUpperCase().endsWith(suffix);
}

/** The node's refusal as one line, with what to do about the common nonce cases. */
function refusal(err: unknown, nonce: number, explicit: boolean): unknown {
  if (!(err instanceof ApiError) || err.status >= 500) return err;
  const prefix = `the node refused the transaction (${err.code}): ${err.message}`;
  let hint = "";
  if (codeIs(err.code, "NONCE_TOO_LOW")) {
    hint = explicit
      ? "; leave out --nonce to use the next one"
      : "; other transactions from this key keep taking the next nonce, try again";
  } else if (codeIs(err.code, "REPLACEMENT_UNDERPRICED") || codeIs(err.code, "DUPLICATE")) {
    hint = explicit
      ? `; a transaction with nonce ${nonce} is still pending: wait for it, or replace it with a higher --fee`
      : `; ${MAX_NONCE_PROBES} transactions from this key are still pending, wait for some to be included`;
  } else if (codeIs(err.code, "NONCE_GAP") || codeIs(err.code, "NONCE_TOO_HIGH")) {
    hint = explicit ? "; leave out --nonce to use the account's next one" : "";
  }
  return new CliError(err.code, `${prefix}${hint}`, { cause: err });
}
