/**
 * Where the real GSM8K JSONL is: `$GSM8K_DIR`, else `../shared/datasets/gsm8k` beside the
 * repository checkout (as the app configs default to). Tests that need it skip when absent.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const GSM8K_DIR = process.env.GSM8K_DIR ?? fileURLToPath(new URL("../../../../shared/datasets/gsm8k", import.meta.url));

/** The skip message when GSM8K is absent, else undefined. */
export function gsm8kMissing(): string | undefined {
  return existsSync(join(GSM8K_DIR, "test.jsonl"))
    ? undefined
    : `GSM8K not found at ${GSM8K_DIR} (set GSM8K_DIR); skipping the real-data check`;
}
