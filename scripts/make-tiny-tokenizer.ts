// Writes the built-in character-level tokenizer (tokenizer.json + tokenizer_config.json).
// Usage: npx tsx scripts/make-tiny-tokenizer.ts [outDir]   (default: assets/tiny-tokenizer)
import { writeTinyTokenizer } from "../src/models/tokenizer/tiny-tokenizer.ts";

const dir = process.argv[2] ?? "assets/tiny-tokenizer";
const { tokenizerJsonPath, tokenizerConfigPath } = writeTinyTokenizer(dir);
console.log(`wrote ${tokenizerJsonPath} and ${tokenizerConfigPath}`);
