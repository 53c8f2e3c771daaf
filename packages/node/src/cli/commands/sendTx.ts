import { ApiClient } from "../apiClient.js";
import { readKeyFile } from "../keyFile.js";
import { printJson, println } from "../output.js";
import { type TxPayload, TxSender } from "../txSender.js";

/** Options every transaction command takes (see `addTxOptions`). */
export interface TxCommandOptions {
  key: string;
  node: string;
  fee: bigint;
  nonce?: number;
  wait?: boolean;
  waitTimeout: number;
  timeout: number;
  json?: boolean;
}

/** Opens the key file and asks the node for its chain id: everything needed to sign. */
export async function connectSender(
  opts: Pick<TxCommandOptions, "key" | "node" | "timeout">,
): Promise<TxSender> {
  // The key first: a missing or unsafe key file is reported before anything touches the network.
  const key = await readKeyFile(opts.key);
  return TxSender.connect(new ApiClient(opts.node, { timeoutMs: opts.timeout * 1000 }), key);
}

/** A short description of a payload for output: `bpm 72`, `stake 50`. */
export function describe(payload: TxPayload, toAddress?: string): string {
  switch (payload.kind) {
    case "bpm":
      return `bpm ${payload.bpm}`;
    case "transfer":
      return `transfer ${payload.amount} to ${toAddress ?? "?"}`;
    default:
      return `${payload.kind} ${payload.amount}`;
  }
}

/**
 * The common body of `stake`, `unstake`, `transfer` and `bpm <value>`: sign `payload` locally,
 * submit it, print its id and, with `--wait`, the height of the block that includes it. Input is
 * already checked by the caller, so a refused value never reaches this point.
 */
export async function sendTx(payload: TxPayload, opts: TxCommandOptions, toAddress?: string): Promise<void> {
  const sender = await connectSender(opts);
  const sent = await sender.send(payload, { fee: opts.fee, nonce: opts.nonce });
  if (opts.json !== true) {
    println(
      `tx ${sent.id} submitted: ${describe(payload, toAddress)} (nonce ${sent.nonce}, fee ${opts.fee})`,
    );
  }
  const height = opts.wait === true ? await sender.waitIncluded(sent.id, opts.waitTimeout * 1000) : undefined;
  if (opts.json === true) {
    printJson({ id: sent.id, nonce: sent.nonce, ...(height === undefined ? {} : { height }) });
  } else if (height !== undefined) {
    println(`tx ${sent.id} included at height ${height}`);
  }
}
