/**
 * The local Hugging Face hub cache, read the way `huggingface_hub` lays it out:
 * `<cache>/datasets--org--name/{refs/<branch>, snapshots/<commit>/…, blobs/}` (models use
 * `models--org--name`). Snapshot files are usually symlinks into `blobs/`, so everything here
 * follows links. Nothing is ever downloaded.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type HubRepoType = "models" | "datasets";

/** `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub` (default `~/.cache/huggingface/hub`). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(env.HF_HOME ?? join(homedir(), ".cache", "huggingface"), "hub");
}

/** Whether `spec` looks like a hub id (`org/name`), not a path. */
export function isHubId(spec: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(spec) && !spec.startsWith(".") && !/\.(jsonl|json|parquet)$/i.test(spec);
}

/** The cache folder of a repo: `<cache>/datasets--org--name`. */
export function hubRepoDir(id: string, type: HubRepoType, cacheDir = hubCacheDir()): string {
  return join(cacheDir, `${type}--${id.replace("/", "--")}`);
}

export interface HubSnapshot {
  /** The snapshot folder (`…/snapshots/<commit>`), or undefined when none fits. */
  dir?: string;
  /** Places looked at, for the not-found error. */
  lookedAt: string[];
  /** Why no snapshot was chosen (a revision that is neither a ref nor a snapshot). */
  reason?: string;
}

/**
 * A repo's snapshot for `revision`: a branch or tag (`refs/<revision>` holds the commit) or a
 * commit hash (`snapshots/<revision>`). Without a revision: `refs/main`, else the newest snapshot.
 */
export function findHubSnapshot(id: string, type: HubRepoType, options: { revision?: string; cacheDir?: string } = {}): HubSnapshot {
  const repo = hubRepoDir(id, type, options.cacheDir);
  const snapshots = join(repo, "snapshots");
  const lookedAt = [snapshots];
  if (!isDir(snapshots)) return { lookedAt };
  const refFile = join(repo, "refs", options.revision ?? "main");
  const commit = existsSync(refFile) && statSync(refFile).isFile() ? readFileSync(refFile, "utf8").trim() : options.revision;
  if (commit !== undefined && isDir(join(snapshots, commit))) return { dir: join(snapshots, commit), lookedAt };
  const available = readdirSync(snapshots).filter((s) => isDir(join(snapshots, s)));
  if (options.revision !== undefined) {
    const refs = listRefs(join(repo, "refs"));
    return { lookedAt, reason: `revision '${options.revision}' is neither a ref (have: ${refs.join(", ") || "none"}) nor a snapshot (have: ${available.join(", ") || "none"})` };
  }
  available.sort((a, b) => statSync(join(snapshots, b)).mtimeMs - statSync(join(snapshots, a)).mtimeMs);
  return available[0] ? { dir: join(snapshots, available[0]), lookedAt } : { lookedAt };
}

function listRefs(dir: string, prefix = ""): string[] {
  if (!isDir(dir)) return [];
  return readdirSync(dir).flatMap((name) => (isDir(join(dir, name)) ? listRefs(join(dir, name), `${prefix}${name}/`) : [`${prefix}${name}`]));
}

export function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
