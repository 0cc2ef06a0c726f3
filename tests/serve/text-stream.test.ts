// Streaming detokenization and hold-back rules, checked by feeding texts token by token and
// comparing what was sent with the final (non-streaming) answer.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseToolCalls } from "../../src/models/index.ts";
import { IncrementalDetokenizer, StreamFilter, type StreamDelta } from "../../src/serve/index.ts";
import { qwenTokenizer } from "./scripted-backend.ts";

const tok = qwenTokenizer();

/** Streams `text` through a detokenizer + filter; returns every delta and the final one. */
function stream(text: string, filter: StreamFilter): { deltas: StreamDelta[]; final: StreamDelta } {
  const detok = new IncrementalDetokenizer(tok);
  let seen = "";
  const deltas: StreamDelta[] = [];
  for (const id of tok.encode(text)) {
    const piece = detok.push(id);
    assert.ok(!piece.includes("\uFFFD"), `a split character in ${JSON.stringify(piece)}`);
    seen += piece;
    deltas.push(filter.push(piece));
  }
  assert.equal(seen, text, "the pieces add up to the text");
  return { deltas, final: filter.finish(text) };
}

const joined = (r: { deltas: StreamDelta[]; final: StreamDelta }) => r.deltas.map((d) => d.content).join("") + r.final.content;

describe("IncrementalDetokenizer", () => {
  test("never splits multi-byte characters (byte-level tokens of CJK and emoji)", () => {
    const text = "naïve café 東京 🙂🚀 𝔘𝔫𝔦 done";
    const ids = tok.encode(text);
    const detok = new IncrementalDetokenizer(tok);
    const pieces = ids.map((id) => detok.push(id));
    assert.ok(pieces.some((p) => p === ""), "some tokens hold only part of a character");
    assert.equal(pieces.join(""), text);
    assert.ok(pieces.every((p) => !p.includes("\uFFFD")));
  });

  test("special tokens are skipped unless asked for", () => {
    const ids = [...tok.encode("hi"), tok.eosTokenId];
    assert.equal(ids.map(((d) => (id: number) => d.push(id))(new IncrementalDetokenizer(tok))).join(""), "hi");
    assert.equal(ids.map(((d) => (id: number) => d.push(id))(new IncrementalDetokenizer(tok, { skipSpecialTokens: false }))).join(""), "hi<|im_end|>");
  });
});

describe("StreamFilter", () => {
  test("without tools everything streams except a possible stop-string start", () => {
    const r = stream("count: 1, 2, 3, STOP", new StreamFilter({ format: null, stop: ["STOP"] }));
    // The generator would have cut the text before the stop string.
    assert.ok(r.deltas.every((d) => !d.content.includes("S")), "the S of STOP is held back");
    assert.equal(r.deltas.map((d) => d.content).join(""), "count: 1, 2, 3, ");
    const cut = new StreamFilter({ format: null, stop: ["STOP"] });
    assert.equal(cut.push("count: 1, 2, 3, ST").content, "count: 1, 2, 3, ");
    assert.equal(cut.finish("count: 1, 2, 3, ").content, "");
    assert.equal(joined(stream("plain text\n", new StreamFilter({ format: null }))), "plain text\n");
  });

  test("hermes: content streams, markup never leaks, calls are released when their block closes", () => {
    const text = 'Let me compute.\n<tool_call>\n{"name": "calc", "arguments": {"e": "1+2"}}\n</tool_call>\n<tool_call>\n{"name": "calc", "arguments": {"e": "3"}}\n</tool_call>';
    const filter = new StreamFilter({ format: "hermes", idPrefix: "call_0" });
    const r = stream(text, filter);
    const streamedContent = r.deltas.map((d) => d.content).join("");
    assert.equal(streamedContent, "Let me compute.");
    const firstCallAt = r.deltas.findIndex((d) => d.toolCalls.length > 0);
    assert.ok(firstCallAt > 0 && firstCallAt < r.deltas.length - 5, "the first call is sent before the reply ends");
    const calls = [...r.deltas.flatMap((d) => d.toolCalls), ...r.final.toolCalls];
    assert.deepEqual(calls, parseToolCalls(text, "hermes", { idPrefix: "call_0" }).toolCalls);
    assert.equal(r.final.content, "");
  });

  test("hermes: trailing whitespace and '<tool' are held back until they turn out to be content", () => {
    const f = new StreamFilter({ format: "hermes" });
    assert.equal(f.push("  Hello ").content, "Hello");
    assert.equal(f.push("<tool").content, "");
    assert.equal(f.push("s> are").content, " <tools> are");
    assert.equal(f.finish("  Hello <tools> are here  ").content, " here");
  });

  test("hermes: a malformed block becomes content; an unclosed block at the end is resolved by finish", () => {
    const bad = '<tool_call>\n{"name": oops}\n</tool_call>';
    assert.equal(joined(stream(`Try: ${bad}`, new StreamFilter({ format: "hermes" }))), `Try: ${bad}`);
    const open = 'Ok <tool_call>\n{"name": "f", "arguments": {}}';
    const r = stream(open, new StreamFilter({ format: "hermes" }));
    assert.equal(r.deltas.flatMap((d) => d.toolCalls).length, 0);
    assert.deepEqual(r.final.toolCalls.map((c) => c.function.name), ["f"]);
    assert.equal(joined(r), "Ok");
  });

  test("llama3-json: a reply that starts like a call waits for the end; prose streams", () => {
    const call = stream('{"name": "calc", "parameters": {"e": "1"}}', new StreamFilter({ format: "llama3-json" }));
    assert.ok(call.deltas.every((d) => d.content === "" && d.toolCalls.length === 0));
    assert.deepEqual(call.final.toolCalls.map((c) => c.function.arguments), ['{"e":"1"}']);
    const prose = stream("The answer is 3.", new StreamFilter({ format: "llama3-json" }));
    assert.ok(prose.deltas.some((d) => d.content !== ""));
    assert.equal(joined(prose), "The answer is 3.");
  });
});

describe("StreamFilter cost", () => {
  test("per-token work does not grow with the length of the reply", () => {
    const text = "The quick brown fox jumps over the lazy dog, 12*34 = 408. 東京 🙂 ".repeat(150);
    const detok = new IncrementalDetokenizer(tok);
    const pieces = tok.encode(text).map((id) => detok.push(id));
    for (const format of [null, "hermes", "llama3-json"] as const) {
      const f = new StreamFilter({ format, stop: ["</answer>"] });
      const time = (from: number, to: number): number => {
        const t0 = performance.now();
        for (let i = from; i < to; i++) f.push(pieces[i]!);
        return performance.now() - t0;
      };
      const k = Math.floor(pieces.length / 6);
      time(0, k); // warm-up
      const early = time(k, 2 * k);
      time(2 * k, 5 * k);
      const late = time(5 * k, 6 * k);
      // O(all text) per token would make the last sixth ~3.7× the second one; allow 2.5× for noise.
      assert.ok(late < 2.5 * early + 3, `${format}: ${early.toFixed(1)} ms then ${late.toFixed(1)} ms`);
      const rest = f.finish(text);
      assert.equal(rest.toolCalls.length, 0);
    }
  });

  test("a stop string found once keeps cutting later pieces", () => {
    const f = new StreamFilter({ format: null, stop: ["##"] });
    assert.equal(f.push("ab#").content, "ab");
    assert.equal(f.push("#cd").content, "");
    assert.equal(f.push("ef").content, "");
    assert.equal(f.finish("ab").content, "");
  });
});
