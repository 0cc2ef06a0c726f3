/**
 * The `lora:` config section in both apps: attach adapters to the policy (freezing it), and the
 * final export — a PEFT adapter directory (`<output_dir>/adapter`) plus, with `save_merged`, the
 * merged model as a plain Hugging Face directory (`<output_dir>/model`).
 */
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import {
  applyLora,
  saveLoraAdapter,
  saveMergedPretrained,
  type CausalLM,
  type LoraAdapters,
  type LoraConfig,
  type Tokenizer,
} from "../../src/models/index.ts";
import type { SftConfig } from "../../src/config/index.ts";

export type LoraSection = NonNullable<SftConfig["lora"]>;

export function loraConfigFrom(section: LoraSection): LoraConfig {
  return {
    r: section.r,
    alpha: section.alpha,
    dropout: section.dropout,
    targetModules: section.targetModules,
    useRslora: section.useRslora,
  };
}

/** Adapters on `model` when the config has a `lora` section (null otherwise); logs the trainable share. */
export function attachLora(model: CausalLM, section: LoraSection | undefined, log: (line: string) => void): LoraAdapters | null {
  if (!section) return null;
  const lora = applyLora(model, loraConfigFrom(section));
  const { trainable, total } = lora.parameterCounts();
  const share = ((100 * trainable) / total).toFixed(2);
  log(
    `LoRA r=${section.r} alpha=${section.alpha} on ${lora.layers.size} layers (${JSON.stringify(section.targetModules)}): ` +
      `${trainable.toLocaleString()} trainable of ${total.toLocaleString()} parameters (${share} %), base ${model.dtype} frozen`,
  );
  return lora;
}

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"];

/** Copies the tokenizer's files next to saved weights, so the directory loads on its own. */
export function copyTokenizerFiles(tokenizer: Tokenizer, dir: string): void {
  for (const f of TOKENIZER_FILES) {
    const src = join(tokenizer.source, f);
    if (existsSync(src)) copyFileSync(src, join(dir, f));
  }
}

/** Writes `<outputDir>/adapter` (PEFT) and, with `save_merged`, `<outputDir>/model` (merged HF weights). */
export function exportLora(
  lora: LoraAdapters,
  section: LoraSection,
  o: { outputDir: string; baseModel: string; tokenizer: Tokenizer; log: (line: string) => void },
): { adapterDir: string; modelDir: string | null } {
  const adapterDir = join(o.outputDir, "adapter");
  saveLoraAdapter(lora, adapterDir, { baseModelNameOrPath: o.baseModel });
  copyTokenizerFiles(o.tokenizer, adapterDir);
  o.log(`LoRA adapter (PEFT format) written to ${adapterDir}`);
  if (!section.saveMerged) return { adapterDir, modelDir: null };
  const modelDir = join(o.outputDir, "model");
  saveMergedPretrained(lora, modelDir);
  copyTokenizerFiles(o.tokenizer, modelDir);
  o.log(`merged model written to ${modelDir}`);
  return { adapterDir, modelDir };
}
