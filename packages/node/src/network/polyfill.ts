/**
 * `Promise.withResolvers` (ES2024) for Node 20, which lacks it while the libp2p tree calls it.
 *
 * Follows the specification (27.2.4.8): it uses `this` as the constructor, so subclasses get
 * instances of themselves, and it throws a TypeError when `this` is not a constructor or its
 * executor does not hand out callable resolving functions. The property is installed like a
 * built-in: writable, configurable, not enumerable. Import this module before anything from libp2p.
 */

/** The result of `Promise.withResolvers()`. */
export interface PromiseResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type PromiseLikeConstructor = new <T>(
  executor: (resolve: (value: T | PromiseLike<T>) => void, reject: (reason?: unknown) => void) => void,
) => Promise<T>;

/** The polyfill itself, exported so tests can exercise it even where the native one exists. */
export function withResolvers<T>(this: unknown): PromiseResolvers<T> {
  if (typeof this !== "function") {
    throw new TypeError("Promise.withResolvers called on a non-constructor");
  }
  let resolve: unknown;
  let reject: unknown;
  const promise = new (this as PromiseLikeConstructor)<T>((res, rej) => {
    // NewPromiseCapability: a second call of the executor must not replace the functions.
    if (resolve !== undefined || reject !== undefined) {
      throw new TypeError("Promise executor has already been invoked");
    }
    resolve = res;
    reject = rej;
  });
  if (typeof resolve !== "function" || typeof reject !== "function") {
    throw new TypeError("Promise resolve or reject function is not callable");
  }
  return {
    promise,
    resolve: resolve as PromiseResolvers<T>["resolve"],
    reject: reject as PromiseResolvers<T>["reject"],
  };
}

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    value: withResolvers,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
