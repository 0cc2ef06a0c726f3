/**
 * A Hugging Face hub cache in a temp dir, laid out as `huggingface_hub` writes it: file contents
 * in `blobs/`, `snapshots/<commit>/<path>` symlinks into them, `refs/<branch>` holding the commit.
 */
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";

/** Adds one snapshot of a repo; `files` maps paths inside the snapshot to contents (or a writer). */
export function addSnapshot(
  cacheDir: string,
  repo: { type: "datasets" | "models"; id: string; commit: string; refs?: string[] },
  files: Record<string, string | Buffer | ((path: string) => void)>,
): string {
  const repoDir = join(cacheDir, `${repo.type}--${repo.id.replace("/", "--")}`);
  const snapshot = join(repoDir, "snapshots", repo.commit);
  for (const [path, content] of Object.entries(files)) {
    const target = join(snapshot, path);
    mkdirSync(dirname(target), { recursive: true });
    mkdirSync(join(repoDir, "blobs"), { recursive: true });
    const staged = join(repoDir, "blobs", `staging-${repo.commit}-${path.replace(/\//g, "_")}`);
    if (typeof content === "function") content(staged);
    else writeFileSync(staged, content);
    const blob = join(repoDir, "blobs", createHash("sha256").update(readFileSync(staged)).digest("hex"));
    renameSync(staged, blob);
    symlinkSync(relative(dirname(target), blob), target);
  }
  for (const ref of repo.refs ?? []) {
    mkdirSync(dirname(join(repoDir, "refs", ref)), { recursive: true });
    writeFileSync(join(repoDir, "refs", ref), repo.commit);
  }
  return snapshot;
}
