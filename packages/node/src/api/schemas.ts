import { MAX_BPM, MAX_TX_BYTES, MIN_BPM, TxKind } from "@cardio/core";

/*
 * The JSON schemas of the API: fastify validates requests and serialises responses with them, and
 * the OpenAPI document is generated from the very same objects (every object exported in `components`
 * becomes a named schema there), so the documentation cannot drift from what the server does.
 *
 * Keywords are limited to what ajv (strict mode) and OpenAPI 3.1 both understand: `examples`, never
 * the OpenAPI-only `example`.
 */

/** A JSON schema, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function object(
  properties: Record<string, JsonSchema>,
  required: readonly string[] = Object.keys(properties),
  description?: string,
): JsonSchema {
  return {
    type: "object",
    ...(description === undefined ? {} : { description }),
    properties,
    required,
    additionalProperties: false,
  };
}

// ---- scalars -------------------------------------------------------------------------------------

export const Hash: JsonSchema = {
  type: "string",
  format: "hash",
  description: "A 32-byte SHA-256 hash as 64 hex characters.",
};
export const SignatureHex: JsonSchema = {
  type: "string",
  format: "signature",
  description: "A 64-byte Ed25519 signature as 128 hex characters.",
};
export const Address: JsonSchema = {
  type: "string",
  minLength: 1,
  maxLength: 128,
  description: "An account address: the libp2p PeerId string of an Ed25519 public key.",
  examples: ["12D3KooWJhymWWYQqNW4FYNLtztVQv9gLChHQkxC29txVNrGwL5X"],
};
export const Amount: JsonSchema = {
  type: "string",
  format: "u64",
  description: "A token amount: a whole number from 0 to 2^64-1 as a decimal string.",
  examples: ["100"],
};
export const Height: JsonSchema = {
  type: "integer",
  minimum: 0,
  maximum: MAX_SAFE,
  description: "A block height.",
};
export const Slot: JsonSchema = {
  type: "integer",
  minimum: 0,
  maximum: MAX_SAFE,
  description: "A slot number.",
};
export const Nonce: JsonSchema = {
  type: "integer",
  minimum: 0,
  maximum: MAX_SAFE,
  description: "The sender's account nonce the transaction uses (its count of earlier transactions).",
};
export const Bpm: JsonSchema = {
  type: "integer",
  minimum: MIN_BPM,
  maximum: MAX_BPM,
  description: `A heart-rate reading: a whole number from ${MIN_BPM} to ${MAX_BPM}.`,
};

// ---- responses -----------------------------------------------------------------------------------

export const ErrorResponse: JsonSchema = object(
  {
    code: { type: "string", description: "Machine-readable error code, e.g. TX_BAD_SIGNATURE." },
    message: { type: "string", description: "What is wrong, for a person." },
  },
  ["code", "message"],
  "Every error response has this shape.",
);

const SyncProgress: JsonSchema = object(
  {
    done: { type: "integer", description: "Blocks imported by this sync run." },
    target: { type: "integer", description: "Height being synced to." },
    blocksPerSecond: { type: "number" },
    etaSeconds: { type: "number" },
  },
  undefined,
  "Progress while syncing.",
);

export const Health: JsonSchema = object(
  {
    status: { type: "string", enum: ["synced", "syncing"] },
    sync: SyncProgress,
  },
  ["status"],
);

export const NodeStatus: JsonSchema = object(
  {
    chainId: { type: "string" },
    peerId: Address,
    genesisHash: Hash,
    head: object({ height: Height, slot: Slot, hash: Hash }),
    currentSlot: { type: "integer", description: "The slot the node's clock is in (-1 before genesis)." },
    syncState: { type: "string", enum: ["synced", "syncing"] },
    sync: SyncProgress,
    peers: { type: "integer", minimum: 0, description: "Connected peers." },
    mempoolSize: { type: "integer", minimum: 0, description: "Pending transactions." },
    validator: { type: "boolean", description: "True when the node's key has stake in the head state." },
  },
  [
    "chainId",
    "peerId",
    "genesisHash",
    "head",
    "currentSlot",
    "syncState",
    "peers",
    "mempoolSize",
    "validator",
  ],
);

export const Header: JsonSchema = object(
  {
    hash: { ...Hash, description: "Block id: SHA-256 of the unsigned header." },
    height: Height,
    slot: Slot,
    parentHash: Hash,
    proposer: { ...Address, description: "Address of the lottery winner that forged the block." },
    txRoot: Hash,
    stateRoot: Hash,
    signature: SignatureHex,
  },
  undefined,
  "A signed block header.",
);

const txKinds = Object.keys(TxKind);

export const Tx: JsonSchema = object(
  {
    id: { ...Hash, description: "Transaction id: SHA-256 of the canonical signed encoding." },
    kind: { type: "string", enum: txKinds },
    from: Address,
    nonce: Nonce,
    fee: Amount,
    to: { ...Address, description: "transfer: the recipient." },
    amount: { ...Amount, description: "transfer, stake, unstake: the amount." },
    bpm: Bpm,
    headerA: Header,
    headerB: Header,
    signature: SignatureHex,
  },
  ["id", "kind", "from", "nonce", "fee", "signature"],
  "A signed transaction; the fields after `fee` are those of its kind.",
);

export const Block: JsonSchema = {
  type: "object",
  description: "A block: its signed header fields and its transactions, in order.",
  properties: { ...(Header.properties as object), txs: { type: "array", items: Tx } },
  required: [...(Header.required as string[]), "txs"],
  additionalProperties: false,
};

export const BlockPage: JsonSchema = object({
  headHeight: { ...Height, description: "Height of the head when the page was read." },
  blocks: { type: "array", items: Block, description: "Canonical blocks, ascending by height." },
});

export const Account: JsonSchema = object({
  address: Address,
  balance: Amount,
  stake: Amount,
  unbonding: {
    type: "array",
    description: "Unstaked amounts on their way back to the balance; slashable until released.",
    items: object({ amount: Amount, releaseSlot: { ...Slot, description: "First slot it is spendable." } }),
  },
  nonce: { ...Nonce, description: "Nonce the account's next transaction must carry." },
  pendingNonce: {
    ...Nonce,
    description:
      "Nonce a new transaction should carry, counting the account's transactions pending in this node's mempool.",
  },
  validator: { type: "boolean", description: "True when the stake reaches the chain's minimum stake." },
});

export const Validators: JsonSchema = object({
  height: { ...Height, description: "Height of the head whose state is listed." },
  totalStake: Amount,
  validators: {
    type: "array",
    description: "The lottery's entrants, in canonical order.",
    items: object({
      address: Address,
      stake: Amount,
      share: { type: "number", minimum: 0, maximum: 1, description: "stake / totalStake." },
      sharePercent: {
        type: "string",
        description: "The share as a percentage, e.g. 25.00%.",
        examples: ["25.00%"],
      },
      blocksForged: { type: "integer", minimum: 0, description: "Blocks it forged on the canonical chain." },
    }),
  },
});

export const TxAccepted: JsonSchema = object({ id: Hash }, ["id"], "The transaction is pending.");

export const TxStatus: JsonSchema = object(
  {
    status: { type: "string", enum: ["pending", "included", "unknown"] },
    height: { ...Height, description: "included: height of the canonical block holding it." },
    blockHash: { ...Hash, description: "included: that block's hash." },
    code: { type: "string", description: "unknown: API_NOT_FOUND." },
    message: { type: "string", description: "unknown: what was looked for." },
  },
  ["status"],
);

// ---- requests ------------------------------------------------------------------------------------

/** A header inside evidence; `hash` may be given (it is then checked) or left out. */
const HeaderInput: JsonSchema = object(
  Header.properties as Record<string, JsonSchema>,
  (Header.required as string[]).filter((k) => k !== "hash"),
  "A signed block header.",
);

function txInput(kind: string, fields: Record<string, JsonSchema>, description: string): JsonSchema {
  return object(
    {
      kind: { type: "string", const: kind },
      from: { ...Address, description: "The sender's address; it pays the fee and signs." },
      nonce: Nonce,
      fee: Amount,
      ...fields,
      signature: SignatureHex,
      id: { ...Hash, description: "Optional: if given, must equal the transaction's id." },
    },
    ["kind", "from", "nonce", "fee", ...Object.keys(fields), "signature"],
    description,
  );
}

export const TransferTxInput = txInput(
  "transfer",
  { to: Address, amount: Amount },
  "Moves `amount` from the sender's balance to `to`.",
);
export const StakeTxInput = txInput("stake", { amount: Amount }, "Bonds `amount` of the balance into stake.");
export const UnstakeTxInput = txInput(
  "unstake",
  { amount: Amount },
  "Starts unbonding `amount` of stake; it returns to the balance after the unbonding delay.",
);
export const BpmTxInput = txInput("bpm", { bpm: Bpm }, "Records a heart-rate reading on chain.");
export const EvidenceTxInput = txInput(
  "evidence",
  { headerA: HeaderInput, headerB: HeaderInput },
  "Proves that one proposer signed two different headers for one slot; its stake is slashed.",
);

export const JsonTxInput: JsonSchema = {
  type: "object",
  description: "A signed transaction as JSON, told apart by `kind`.",
  required: ["kind"],
  discriminator: { propertyName: "kind" },
  oneOf: [TransferTxInput, StakeTxInput, UnstakeTxInput, BpmTxInput, EvidenceTxInput],
};

export const RawTxInput: JsonSchema = object(
  {
    tx: {
      type: "string",
      format: "hex",
      maxLength: 2 * MAX_TX_BYTES,
      description: "The canonical signed encoding of the transaction, as hex.",
    },
  },
  ["tx"],
  "A signed transaction in its canonical binary encoding.",
);

/** `POST /txs`: `{ "tx": "<hex>" }`, or else a JSON transaction. */
export const TxSubmission: JsonSchema = {
  type: "object",
  description: 'Either `{ "tx": "<hex of the canonical signed encoding>" }` or a JSON transaction.',
  if: { type: "object", required: ["tx"] },
  // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here.
  then: RawTxInput,
  else: JsonTxInput,
};

/** The schemas named in the OpenAPI document's `components.schemas`. */
export const components: Record<string, JsonSchema> = {
  Error: ErrorResponse,
  Hash,
  Signature: SignatureHex,
  Address,
  Amount,
  Health,
  NodeStatus,
  Header,
  Tx,
  Block,
  BlockPage,
  Account,
  Validators,
  TxAccepted,
  TxStatus,
  TransferTxInput,
  StakeTxInput,
  UnstakeTxInput,
  BpmTxInput,
  EvidenceTxInput,
  JsonTxInput,
  RawTxInput,
  TxSubmission,
};
