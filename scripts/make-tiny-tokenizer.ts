// Writes the built-in character-level tokenizer (tokenizer.json + tokenizer_config.json).
// Usage: npx tsx scripts/make-tiny-tokenizer.ts [--agent] [outDir]
//   default outDir: assets/tiny-tokenizer, or assets/tiny-agent-tokenizer with --agent
import { writeTinyTokenizer } from "../src/models/tokenizer/tiny-tokenizer.ts";

const args = process.argv.slice(2);
const agent = args.includes("--agent");
const dir = args.find((a) => a !== "--agent") ?? (agent ? "assets/tiny-agent-tokenizer" : "assets/tiny-tokenizer");
const { tokenizerJsonPath, tokenizerConfigPath } = writeTinyTokenizer(dir, { variant: agent ? "agent" : "base" });
console.log(`wrote ${tokenizerJsonPath} and ${tokenizerConfigPath}`);
