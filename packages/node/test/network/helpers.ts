import { randomBytes } from "node:crypto";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createNetwork, type Logger, type Network, type NetworkOptions } from "../../src/network/index.js";

/** A chain id no other test (or test run) shares, so topics and mDNS tags never cross. */
export function uniqueChainId(): string {
  return `test-${randomBytes(6).toString("hex")}`;
}

/** A logger that records entries, for asserting that failures were logged. */
export interface RecordingLogger extends Logger {
  entries: Array<{ level: string; obj: Record<string, unknown>; msg?: string }>;
}

export function recordingLogger(): RecordingLogger {
  const entries: RecordingLogger["entries"] = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      entries.push({ level, obj, msg });
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * Starts networks and remembers them, so `stopAll` in afterEach stops every one even when a test
 * fails half-way, and can assert each really stopped.
 */
export function networkPool() {
  const started: Network[] = [];
  type PoolOptions = Omit<NetworkOptions, "privateKey"> & Partial<Pick<NetworkOptions, "privateKey">>;
  const create = async (options: PoolOptions): Promise<Network> => {
    const privateKey = options.privateKey ?? (await generateKeyPair("Ed25519"));
    const network = createNetwork({ mdns: false, ...options, privateKey });
    started.push(network);
    return network;
  };
  return {
    /** Creates a network (mDNS off unless asked for) without starting it. */
    create,
    /** Creates and starts a network. */
    async start(options: PoolOptions): Promise<Network> {
      const network = await create(options);
      await network.start();
      return network;
    },
    async stopAll(): Promise<Network[]> {
      const all = started.splice(0);
      await Promise.all(all.map((network) => network.stop()));
      return all;
    },
  };
}
