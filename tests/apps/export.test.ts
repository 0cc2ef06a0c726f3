// `forge export`: arguments, the sources it accepts (a .gguf, a Hugging Face directory such as an SFT
// output or merged LoRA, a trainer checkpoint directory + --tokenizer), the Modelfile, and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { torch } from "../../src/torch/index.ts";
import { GgufFile } from "../../src/torch/gguf.ts";
import { ggufTokenizerFiles, loadGguf, savePretrained } from "../../src/models/index.ts";
import { main, parseExportArgs, runExport, UsageError } from "../../apps/export/main.ts";
import { main as forge } from "../../src/cli/forge.ts";

torch.setNumThreads(1);
const GGUF = "tests/fixtures/gguf/llama.gguf";
const tmp = mkdtempSync(join(tmpdir(), "forge-export-"));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `fn` with console.log/error captured. */
async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  const lines: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    return { value: await fn(), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test("arguments: defaults and usage errors", () => {
  assert.deepEqual(parseExportArgs(["--model", "m", "--out", "x.gguf"]), { model: "m", out: "x.gguf", type: "f16", tokenizer: undefined, name: undefined, ollama: false });
  assert.equal(parseExportArgs(["--model", "m", "--out", "x.gguf", "--type", "Q8_0"]).type, "q8_0");
  const bad = (argv: string[], re: RegExp) => assert.throws(() => parseExportArgs(argv), (e: Error) => e instanceof UsageError && re.test(e.message));
  bad(["--out", "x.gguf"], /--model is required/);
  bad(["--model", "m"], /--out is required/);
  bad(["--model", "m", "--out", "x.bin"], /--out must name a .gguf file; got 'x.bin'/);
  bad(["--model", "m", "--out", "x.gguf", "--type", "q4_k"], /--type must be one of f32, f16, bf16, q8_0; got 'q4_k'/);
  bad(["--model", "m", "--out", "x.gguf", "--quant", "1"], /--quant/);
});

test("forge export: a .gguf to Q8_0 with an Ollama Modelfile; usage errors exit 2, failures exit 1", async () => {
  const out = join(tmp, "a", "tiny.gguf");
  const { value: code, out: printed } = await quiet(() => forge(["export", "--model", GGUF, "--out", out, "--type", "q8_0", "--ollama", "--name", "tiny"]));
  assert.equal(code, 0, printed);
  assert.match(printed, /wrote .*tiny\.gguf \(.* MiB, 16 Q8_0, 5 F32\)/);
  const file = GgufFile.open(out);
  assert.equal(file.get("general.name"), "tiny");
  file.close();
  const modelfile = readFileSync(join(tmp, "a", "Modelfile"), "utf8");
  assert.match(modelfile, /^FROM \.\/tiny\.gguf$/m);
  assert.match(modelfile, /^TEMPLATE """\{\{- range \.Messages \}\}<\|im_start\|>/m);
  assert.equal((await quiet(() => main(["--model", GGUF, "--out", out, "--type", "int4"]))).value, 2);
  writeFileSync(join(tmp, "file"), "");
  const failed = await quiet(() => main(["--model", GGUF, "--out", join(tmp, "file", "x.gguf")]));
  assert.equal(failed.value, 1);
  assert.match(failed.out, /forge export: .*file\/x\.gguf: cannot write/);
  const missing = await quiet(() => main(["--model", join(tmp, "nowhere"), "--out", out]));
  assert.equal(missing.value, 1);
  assert.match(missing.out, /model '.*nowhere' not found/);
});

test("a Hugging Face directory (an SFT output or merged LoRA) and a trainer checkpoint directory export", () => {
  const src = loadGguf(GGUF);
  const meta = GgufFile.open(GGUF);
  const files = ggufTokenizerFiles(meta.metadata);
  meta.close();
  try {
    const hf = join(tmp, "hf");
    savePretrained(src.model, hf);
    writeFileSync(join(hf, "tokenizer.json"), JSON.stringify(files.tokenizerJson));
    writeFileSync(join(hf, "tokenizer_config.json"), JSON.stringify(files.tokenizerConfig));
    const r = runExport({ model: hf, out: join(tmp, "hf.gguf"), type: "f32", ollama: false });
    const back = loadGguf(r.path);
    for (const [k, t] of src.model.stateDict()) assert.equal(torch.tidy(() => back.model.stateDict().get(k)!.sub(t).abs().max().item()), 0, k);
    assert.deepEqual(back.tokenizer.encode("hello world"), src.tokenizer.encode("hello world"));
    back.model.dispose();

    const ckpt = join(tmp, "ckpt");
    mkdirSync(join(ckpt, "step-3"), { recursive: true });
    savePretrained(src.model, join(ckpt, "step-3", "model"));
    writeFileSync(join(ckpt, "latest"), "step-3\n");
    assert.throws(() => runExport({ model: ckpt, out: join(tmp, "c.gguf"), type: "f16", ollama: false }), (e: Error) => e instanceof UsageError && /no tokenizer\.json.*--tokenizer/.test(e.message));
    const c = runExport({ model: ckpt, tokenizer: GGUF, out: join(tmp, "c.gguf"), type: "bf16", ollama: true });
    assert.deepEqual(c.tensorTypes, { BF16: 16, F32: 5 });
    assert.equal(c.modelfile, join(tmp, "Modelfile"));
    const f = GgufFile.open(c.path);
    assert.equal(f.get("general.name"), "model");
    f.close();
  } finally {
    src.model.dispose();
  }
});
