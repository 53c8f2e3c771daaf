import { CodecError, CodecErrorCode } from "./errors.js";

/**
 * Reads fixed-layout fields, failing with a typed `CodecError` on truncated input. Every field has
 * exactly one encoding, so a successful decode re-encodes to the same bytes.
 */
export class ByteReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new CodecError(
        CodecErrorCode.TRUNCATED,
        `${this.what}: truncated at ${field} (needs ${n} bytes at offset ${this.pos}, ${this.remaining} left)`,
        { what: this.what, field, offset: this.pos },
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  /** A u64 that must fit a safe integer (heights, slots, nonces). */
  u64n(field: string): number {
    const at = this.pos;
    const v = this.u64(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CodecError(CodecErrorCode.OUT_OF_RANGE, `${this.what}: ${field} ${v} exceeds 2^53-1`, {
        what: this.what,
        field,
        offset: at,
      });
    }
    return Number(v);
  }

  /** `n` raw bytes (a copy, so the result does not pin the input buffer). */
  fixed(n: number, field: string): Uint8Array {
    this.need(n, field);
    // Not `bytes.slice`: on a Node Buffer (what libp2p hands gossip and request handlers) `slice` is
    // a view into the message's whole buffer, not a copy.
    const out = new Uint8Array(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** u32-length-prefixed bytes, at most `max` long. */
  varBytes(field: string, max: number): Uint8Array {
    const at = this.pos;
    const len = this.u32(`${field} length`);
    if (len > max) {
      throw new CodecError(
        CodecErrorCode.TOO_LARGE,
        `${this.what}: ${field} of ${len} bytes exceeds ${max}`,
        {
          what: this.what,
          field,
          offset: at,
          length: len,
          max,
        },
      );
    }
    return this.fixed(len, field);
  }

  /** Fails unless every byte was consumed: trailing bytes would give one value two encodings. */
  end(): void {
    if (this.pos !== this.bytes.length) {
      throw new CodecError(
        CodecErrorCode.TRAILING_BYTES,
        `${this.what}: ${this.remaining} trailing bytes after offset ${this.pos}`,
        { what: this.what, offset: this.pos, trailing: this.remaining },
      );
    }
  }
}
