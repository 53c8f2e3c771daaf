import { CardioError } from "./errors.js";

/** Why a genesis document was refused. */
export const GenesisErrorCode = {
  /** The genesis file is not JSON text. */
  INVALID_JSON: "GENESIS_INVALID_JSON",
  /** A field (or the document, or an account) has the wrong type, format or range. */
  INVALID_FIELD: "GENESIS_INVALID_FIELD",
  /** A required field is absent. */
  MISSING_FIELD: "GENESIS_MISSING_FIELD",
  /** A field the format does not define, most likely a typo. */
  UNKNOWN_FIELD: "GENESIS_UNKNOWN_FIELD",
  /** An account address that is not an Ed25519 PeerId string. */
  INVALID_ADDRESS: "GENESIS_INVALID_ADDRESS",
  /** The same address listed twice. */
  DUPLICATE_ACCOUNT: "GENESIS_DUPLICATE_ACCOUNT",
  /** No account has `stake ≥ minStake`, so no block could ever be forged. */
  NO_VALIDATORS: "GENESIS_NO_VALIDATORS",
  /** The initial supply, or the supply after long minting, would not fit in a u64. */
  SUPPLY_OVERFLOW: "GENESIS_SUPPLY_OVERFLOW",
} as const;
export type GenesisErrorCode = (typeof GenesisErrorCode)[keyof typeof GenesisErrorCode];

/**
 * A genesis document that cannot start a chain. `meta.path` is the JSON path of the offending
 * field (`slotMs`, `accounts[2].stake`; `""` for the whole document).
 */
export class GenesisError extends CardioError<GenesisErrorCode> {
  override readonly name = "GenesisError";
  declare readonly meta: Readonly<{ path: string } & Record<string, unknown>>;

  constructor(code: GenesisErrorCode, message: string, meta: { path: string } & Record<string, unknown>) {
    super(code, message, meta);
  }
}
