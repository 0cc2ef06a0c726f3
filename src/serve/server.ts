/**
 * The OpenAI-compatible HTTP server (node:http, no framework):
 *
 *   POST /v1/chat/completions   messages + tools → message, tool_calls (parsed), logprobs; SSE with `stream`
 *   POST /v1/completions        prompt (string or token ids) → text
 *   GET  /v1/models, /v1/models/<id>, /health
 *   /episodes/<episodeId>/v1/…  the same API; `episodeId` goes to the backend (training rollouts)
 *
 * Every choice also carries its sampled `token_ids` and the response its `prompt_token_ids`
 * (vLLM's `return_token_ids`), so a client can train on exactly what was sampled.
 *
 * Limits: `maxConcurrency` requests reach the backend at once, `maxQueue` more wait, the rest get
 * 429; bodies over `maxBodyBytes` get 413; a client that disconnects (or a request that times
 * out) aborts its backend call's signal. `close()` stops accepting, lets in-flight requests (and
 * their backend calls) finish, then closes the sockets.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { detectToolCallFormat, parseToolCalls, type ToolCall, type ToolCallFormat } from "../models/index.ts";
import { Admission } from "./admission.ts";
import { ServeError, toServeError, badRequest } from "./errors.ts";
import { chatLogprobs, completionLogprobs, finishReason, responseId, usageOf } from "./openai-format.ts";
import { chatCompletionSchema, completionSchema, parseBody, planChat, planCompletion, type ChatPlan, type CompletionPlan } from "./schemas.ts";
import { IncrementalDetokenizer, StreamFilter, type StreamDelta } from "./text-stream.ts";
import type { BackendResult, ServeBackend, TokenCallback } from "./types.ts";

export interface ServerOptions {
  backend: ServeBackend;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Requests handed to the backend at once. @default 64 */
  maxConcurrency?: number;
  /** Requests waiting for a turn; more are refused with 429. @default 256 */
  maxQueue?: number;
  /** Abort a request (504) after this long; 0 = never. @default 0 */
  requestTimeoutMs?: number;
  /** Largest request body. @default 8 MiB */
  maxBodyBytes?: number;
}

export interface RunningServer {
  /** `http://host:port` (append `/v1` for an OpenAI client's baseURL). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, finishes in-flight requests, then closes. Idempotent. */
  close(): Promise<void>;
}

/** A request whose client went away: nothing is sent back. */
class ClientGone extends Error {
  override name = "ClientGone";
}

export async function createServer(options: ServerOptions): Promise<RunningServer> {
  const { backend } = options;
  const admission = new Admission(options.maxConcurrency ?? 64, options.maxQueue ?? 256);
  const maxBodyBytes = options.maxBodyBytes ?? 8 * 2 ** 20;
  const timeoutMs = options.requestTimeoutMs ?? 0;
  const created = Math.floor(Date.now() / 1000);
  const inFlight = new Set<Promise<unknown>>();
  let closing = false;

  const server = createHttpServer((req, res) => {
    const p = handle(req, res).catch(() => undefined);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });

  /** Runs a backend call, tracked so `close()` waits for it even if its client is gone. */
  const track = <T>(p: Promise<T>): Promise<T> => {
    const settled = p.catch(() => undefined);
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
    return p;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (closing) {
        res.setHeader("connection", "close");
        throw new ServeError(503, "server is shutting down", "server_error", null, "shutting_down");
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      let path = url.pathname.replace(/\/+$/, "") || "/";
      let episodeId: string | undefined;
      const episode = /^\/episodes\/([^/]+)(\/v1(?:\/.*)?)$/.exec(path);
      if (episode) {
        try {
          episodeId = decodeURIComponent(episode[1]!);
        } catch {
          throw badRequest(`episode id '${episode[1]}' is not valid percent-encoding`);
        }
        path = episode[2]!;
      }
      const method = req.method ?? "GET";
      const route = `${method} ${path}`;
      if (path === "/health" && !episode) return sendJson(res, 200, { status: "ok" });
      if (route === "GET /v1/models") return sendJson(res, 200, { object: "list", data: [modelCard()] });
      if (method === "GET" && path.startsWith("/v1/models/")) {
        const id = decodeURIComponent(path.slice("/v1/models/".length));
        if (id !== backend.modelName) throw modelNotFound(id);
        return sendJson(res, 200, modelCard());
      }
      if (route === "POST /v1/chat/completions") return await chat(req, res, episodeId);
      if (route === "POST /v1/completions") return await complete(req, res, episodeId);
      if (["/v1/chat/completions", "/v1/completions", "/v1/models", "/health"].includes(path)) {
        throw new ServeError(405, `method ${method} is not allowed on ${path}`, "invalid_request_error", null, "method_not_allowed");
      }
      throw new ServeError(404, `no route ${method} ${url.pathname}; this server has POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health (also under /episodes/<id>/v1/...)`, "not_found_error");
    } catch (err) {
      if (err instanceof ClientGone) return;
      const e = toServeError(err);
      if (!res.headersSent) sendJson(res, e.status, e.toBody());
      else if (!res.writableEnded) {
        // Mid-stream: an SSE error event, which OpenAI clients raise as an APIError.
        res.end(`data: ${JSON.stringify(e.toBody())}\n\n`);
      }
    }
  }

  function modelCard() {
    return { id: backend.modelName, object: "model", created, owned_by: "torchforge", root: backend.modelName, parent: null };
  }

  function modelNotFound(name: string): ServeError {
    return new ServeError(404, `The model '${name}' does not exist; this server serves '${backend.modelName}'`, "not_found_error", "model", "model_not_found");
  }

  function checkModel(name: string | undefined): void {
    if (name !== undefined && name !== backend.modelName) throw modelNotFound(name);
  }

  /** Reads the body (draining it even when too large, so the 413 reaches the client) and parses JSON. */
  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    }
    if (size > maxBodyBytes) throw new ServeError(413, `request body is ${size} bytes; the limit is ${maxBodyBytes}`, "invalid_request_error", null, "request_too_large");
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (err) {
      throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** An AbortController fired by client disconnect or the timeout; `done()` disarms it. */
  function requestSignal(res: ServerResponse): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new ClientGone("client disconnected"));
    };
    res.on("close", onClose);
    const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(new ServeError(504, `request timed out after ${timeoutMs} ms`, "timeout_error", null, "timeout")), timeoutMs) : undefined;
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        res.off("close", onClose);
      },
    };
  }

  /** Admits, runs `call` on the backend, and settles with its result or the abort reason. */
  async function runBackend(signal: AbortSignal, call: (onToken?: TokenCallback) => Promise<BackendResult>, onToken?: TokenCallback): Promise<BackendResult> {
    const release = await admission.acquire(signal);
    const run = track(call(onToken));
    void run.then(release, release); // the slot is held until the backend is really done
    if (signal.aborted) throw signal.reason;
    return new Promise<BackendResult>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  async function chat(req: IncomingMessage, res: ServerResponse, episodeId: string | undefined): Promise<void> {
    const body = parseBody(chatCompletionSchema, await readJson(req));
    checkModel(body.model);
    const plan = planChat(body);
    const { signal, done } = requestSignal(res);
    try {
      const call = (onToken?: TokenCallback): Promise<BackendResult> =>
        backend.chat({ messages: plan.messages, tools: plan.tools, sampling: plan.sampling, episodeId, signal, chatTemplateKwargs: plan.chatTemplateKwargs }, onToken);
      const format = plan.parseTools ? detectToolCallFormat(backend.tokenizer.chatTemplate) : null;
      if (plan.stream) return await streamChat(res, plan, format, signal, call);
      const result = await runBackend(signal, call);
      const id = responseId("chatcmpl");
      const choices = result.choices.map((c, i) => {
        const parsed = format ? parseToolCalls(c.text, format, { idPrefix: `call_${i}` }) : { content: c.text, toolCalls: [] as ToolCall[] };
        const message: Record<string, unknown> = { role: "assistant", content: parsed.toolCalls.length && !parsed.content ? null : parsed.content };
        if (parsed.toolCalls.length) message.tool_calls = parsed.toolCalls;
        return {
          index: i,
          message,
          logprobs: plan.logprobs ? chatLogprobs(backend.tokenizer, c) : null,
          finish_reason: finishReason(c, parsed.toolCalls.length),
          stop_reason: null,
          token_ids: c.tokenIds,
        };
      });
      sendJson(res, 200, { id, object: "chat.completion", created: now(), model: backend.modelName, choices, usage: usageOf(result), prompt_token_ids: result.promptIds });
    } finally {
      done();
    }
  }

  async function complete(req: IncomingMessage, res: ServerResponse, episodeId: string | undefined): Promise<void> {
    const body = parseBody(completionSchema, await readJson(req));
    checkModel(body.model);
    const plan = planCompletion(body);
    const { signal, done } = requestSignal(res);
    try {
      const call = (onToken?: TokenCallback): Promise<BackendResult> => backend.complete({ prompt: plan.prompt, sampling: plan.sampling, episodeId, signal }, onToken);
      if (plan.stream) return await streamCompletion(res, plan, signal, call);
      const result = await runBackend(signal, call);
      const choices = result.choices.map((c, i) => ({
        index: i,
        text: c.text,
        logprobs: plan.logprobs !== null ? completionLogprobs(backend.tokenizer, c, plan.logprobs > 0) : null,
        finish_reason: finishReason(c, 0),
        stop_reason: null,
        token_ids: c.tokenIds,
      }));
      sendJson(res, 200, { id: responseId("cmpl"), object: "text_completion", created: now(), model: backend.modelName, choices, usage: usageOf(result), prompt_token_ids: result.promptIds });
    } finally {
      done();
    }
  }

  /** Per-choice streaming state: ids so far (decoded one token behind), ids and tool calls already sent. */
  function streamStates(n: number, plan: { sampling: { stop?: readonly string[]; skipSpecialTokens?: boolean } }, format: ToolCallFormat | null) {
    return Array.from({ length: n }, (_, i) => ({
      ids: [] as number[],
      sentIds: 0,
      started: false,
      toolIndex: 0,
      detok: new IncrementalDetokenizer(backend.tokenizer, { skipSpecialTokens: plan.sampling.skipSpecialTokens ?? true }),
      filter: new StreamFilter({ format, stop: plan.sampling.stop, idPrefix: `call_${i}` }),
    }));
  }

  async function streamChat(res: ServerResponse, plan: ChatPlan, format: ToolCallFormat | null, signal: AbortSignal, call: (onToken?: TokenCallback) => Promise<BackendResult>): Promise<void> {
    const id = responseId("chatcmpl");
    const stamp = now();
    const states = streamStates(plan.sampling.n ?? 1, plan, format);
    const write = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}): void => {
      sse(res, { id, object: "chat.completion.chunk", created: stamp, model: backend.modelName, choices: [choice], ...(plan.includeUsage ? { usage: null } : {}), ...extra });
    };
    const emit = (i: number, delta: StreamDelta, tokenIds: number[]): void => {
      const st = states[i]!;
      if (!st.started) {
        st.started = true;
        write({ index: i, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
      }
      if (delta.content) write({ index: i, delta: { content: delta.content }, logprobs: null, finish_reason: null, token_ids: tokenIds.splice(0) });
      for (const tc of delta.toolCalls) {
        write({ index: i, delta: { tool_calls: [{ index: st.toolIndex++, id: tc.id, type: "function", function: tc.function }] }, logprobs: null, finish_reason: null, token_ids: tokenIds.splice(0) });
      }
    };
    const onToken: TokenCallback = (i, tokenId) => {
      const st = states[i];
      if (!st || res.writableEnded || signal.aborted) return;
      st.ids.push(tokenId);
      // One token behind: the last token may be a stop token the final text leaves out.
      if (st.ids.length < 2) return;
      const delta = st.filter.push(st.detok.push(st.ids[st.ids.length - 2]!));
      if (delta.content || delta.toolCalls.length) {
        const fresh = st.ids.slice(st.sentIds);
        st.sentIds = st.ids.length;
        emit(i, delta, fresh);
      }
    };
    const result = await runBackend(signal, call, onToken);
    result.choices.forEach((c, i) => {
      const st = states[i]!;
      const delta = st.filter.finish(c.text);
      const rest = c.tokenIds.slice(Math.min(st.sentIds, c.tokenIds.length));
      emit(i, delta, rest);
      const calls = st.toolIndex;
      write(
        { index: i, delta: {}, logprobs: plan.logprobs ? chatLogprobs(backend.tokenizer, c) : null, finish_reason: finishReason(c, calls), stop_reason: null, token_ids: rest },
        { prompt_token_ids: result.promptIds },
      );
    });
    if (plan.includeUsage) sse(res, { id, object: "chat.completion.chunk", created: stamp, model: backend.modelName, choices: [], usage: usageOf(result) });
    endSse(res);
  }

  async function streamCompletion(res: ServerResponse, plan: CompletionPlan, signal: AbortSignal, call: (onToken?: TokenCallback) => Promise<BackendResult>): Promise<void> {
    const id = responseId("cmpl");
    const stamp = now();
    const states = streamStates(plan.sampling.n ?? 1, plan, null);
    const write = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}): void => {
      sse(res, { id, object: "text_completion", created: stamp, model: backend.modelName, choices: [choice], ...(plan.includeUsage ? { usage: null } : {}), ...extra });
    };
    const onToken: TokenCallback = (i, tokenId) => {
      const st = states[i];
      if (!st || res.writableEnded || signal.aborted) return;
      st.ids.push(tokenId);
      if (st.ids.length < 2) return;
      const delta = st.filter.push(st.detok.push(st.ids[st.ids.length - 2]!));
      if (delta.content) {
        write({ index: i, text: delta.content, logprobs: null, finish_reason: null, token_ids: st.ids.slice(st.sentIds) });
        st.sentIds = st.ids.length;
      }
    };
    const result = await runBackend(signal, call, onToken);
    result.choices.forEach((c, i) => {
      const st = states[i]!;
      const delta = st.filter.finish(c.text);
      const rest = c.tokenIds.slice(Math.min(st.sentIds, c.tokenIds.length));
      write(
        {
          index: i,
          text: delta.content,
          logprobs: plan.logprobs !== null ? completionLogprobs(backend.tokenizer, c, plan.logprobs > 0) : null,
          finish_reason: finishReason(c, 0),
          stop_reason: null,
          token_ids: rest,
        },
        { prompt_token_ids: result.promptIds },
      );
    });
    if (plan.includeUsage) sse(res, { id, object: "text_completion", created: stamp, model: backend.modelName, choices: [], usage: usageOf(result) });
    endSse(res);
  }

  function sse(res: ServerResponse, data: unknown): void {
    if (res.writableEnded) return;
    if (!res.headersSent) {
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: closing ? "close" : "keep-alive" });
      res.socket?.setNoDelay(true);
    }
    res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  function endSse(res: ServerResponse): void {
    if (!res.headersSent) sse(res, { choices: [] }); // nothing was generated at all: still a valid stream
    if (!res.writableEnded) res.end("data: [DONE]\n\n");
  }

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded) return;
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(text) };
    if (closing) headers.connection = "close";
    res.writeHead(status, headers);
    res.end(text);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        server.closeAllConnections();
        await serverClosed;
      })();
      return closed;
    },
  };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
