import { afterEach } from "vitest";
import { type ApiServer, type ApiServerOptions, createApiServer } from "../../src/api/apiServer.js";
import { createFakeNode, type FakeNode } from "./fakeNode.js";

/** A started API over a fake node, and small fetch helpers; stopped after each test. */
export interface Api {
  node: FakeNode;
  server: ApiServer;
  url: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies.
  get(path: string): Promise<{ status: number; body: any; headers: Headers }>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies.
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

export async function startApi(opts: Partial<ApiServerOptions> = {}): Promise<Api> {
  const node = await createFakeNode();
  const server = createApiServer({ node, ...opts });
  const { url } = await server.start();
  running.push(async () => {
    await server.stop();
    await node.stop();
  });
  const parse = async (res: Response) => {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return {
    node,
    server,
    url,
    async get(path) {
      const res = await fetch(url + path);
      return { status: res.status, body: await parse(res), headers: res.headers };
    },
    async post(path, body, headers = { "content-type": "application/json" }) {
      const res = await fetch(url + path, {
        method: "POST",
        headers,
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: await parse(res) };
    },
  };
}
