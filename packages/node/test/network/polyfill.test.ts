import { describe, expect, it } from "vitest";
import { withResolvers } from "../../src/network/polyfill.js";

describe("Promise.withResolvers polyfill", () => {
  it("is installed on Promise like a built-in", () => {
    const descriptor = Object.getOwnPropertyDescriptor(Promise, "withResolvers");
    expect(typeof descriptor?.value).toBe("function");
    expect(descriptor).toMatchObject({ writable: true, enumerable: false, configurable: true });
  });

  it("resolves and rejects through the returned functions", async () => {
    const ok = withResolvers.call(Promise);
    ok.resolve(42);
    await expect(ok.promise).resolves.toBe(42);
    const bad = withResolvers.call(Promise);
    bad.reject(new Error("nope"));
    await expect(bad.promise).rejects.toThrow("nope");
  });

  it("uses `this` as the constructor, so subclasses get their own instances", () => {
    class MyPromise<T> extends Promise<T> {}
    const { promise } = withResolvers.call(MyPromise);
    expect(promise).toBeInstanceOf(MyPromise);
  });

  it("throws a TypeError when `this` is not a constructor or hands out no functions", () => {
    expect(() => withResolvers.call(undefined)).toThrow(TypeError);
    expect(() => withResolvers.call({})).toThrow(TypeError);
    function Lazy(_executor: unknown) {}
    expect(() => withResolvers.call(Lazy)).toThrow(TypeError);
  });

  it("has the built-in's name and arity", () => {
    expect(withResolvers.name).toBe("withResolvers");
    expect(withResolvers.length).toBe(0);
  });
});
