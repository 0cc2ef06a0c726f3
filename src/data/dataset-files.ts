/**
 * Where a dataset's rows are: `dataset.path` as a file (`.jsonl`, `.json`, `.parquet`), a folder
 * holding split files, or a Hugging Face dataset id found in the local hub cache. Folders are
 * searched in the layouts the Hub uses: `train.jsonl`, `train-00000-of-00002.parquet`,
 * `data/train-*.parquet`, config subfolders (`main/train-*.parquet` in `openai/gsm8k`) and the
 * parquet-conversion layout `<config>/train/0000.parquet`. Nothing is downloaded.
 */
import { readdirSync, statSync, existsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { homedir } from "node:os";
import { DataOptionError, DatasetNotFoundError } from "./errors.ts";
import { findHubSnapshot, hubCacheDir, hubRepoDir, isDir, isHubId } from "./hub-cache.ts";

export interface DatasetFilesOptions {
  /** A file, a folder, or a hub id (`org/name`). `~` expands to the home directory. */
  path: string;
  /** Split to pick inside a folder. @default "train" */
  split?: string;
  /** Subset (HF "config name") subfolder, e.g. `main` or `socratic` for `openai/gsm8k`. */
  config?: string;
  /** Hub cache revision: a branch/tag under `refs/` or a snapshot commit. @default refs/main, else the newest snapshot */
  revision?: string;
  /** Hub cache to search. @default {@link hubCacheDir} */
  cacheDir?: string;
}

export interface DatasetFiles {
  /** The split's files in read order (shards sorted by name). */
  files: string[];
  /** The folder the split was found in, or the file itself. */
  root: string;
  /** Whether `path` named a single file (then it is the split, whatever `split` says). */
  singleFile: boolean;
}

const EXTENSIONS = [".jsonl", ".json", ".parquet"] as const;

/** Whether a file name is one of the row formats read here. */
export function isDataFile(name: string): boolean {
  return EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));
}

/** A path as errors show it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

export function resolveDatasetFiles(options: DatasetFilesOptions): DatasetFiles {
  const split = options.split ?? "train";
  if (typeof options.path !== "string" || options.path === "") throw new DataOptionError("path", "a file, folder or hub id", options.path);
  if (!/^[\w.-]+$/.test(split)) throw new DataOptionError("split", "a split name such as train or test", split);
  const local = resolve(options.path === "~" || options.path.startsWith("~/") ? join(homedir(), options.path.slice(1)) : options.path);
  if (existsSync(local)) {
    if (statSync(local).isFile()) {
      if (!isDataFile(local)) throw new DatasetNotFoundError(displayPath(local), `expected a .jsonl, .json or .parquet file`);
      return { files: [local], root: local, singleFile: true };
    }
    return { files: findSplitFiles(local, split, options.config), root: local, singleFile: false };
  }
  const lookedAt = [local];
  if (isHubId(options.path)) {
    const cacheDir = options.cacheDir ?? hubCacheDir();
    const snapshot = findHubSnapshot(options.path, "datasets", { revision: options.revision, cacheDir });
    if (snapshot.dir) return { files: findSplitFiles(snapshot.dir, split, options.config), root: snapshot.dir, singleFile: false };
    if (snapshot.reason) throw new DatasetNotFoundError(options.path, `${snapshot.reason} in ${hubRepoDir(options.path, "datasets", cacheDir)}`);
    lookedAt.push(...snapshot.lookedAt);
    throw new DatasetNotFoundError(
      options.path,
      `looked at ${lookedAt.join(", ")}. Nothing is downloaded: fetch it first ` +
        `(\`huggingface-cli download --repo-type dataset ${options.path}\`, which fills the hub cache; HF_HUB_CACHE / HF_HOME move it) ` +
        "or point dataset.path at a local .jsonl/.parquet file or folder",
    );
  }
  throw new DatasetNotFoundError(options.path, `no such file or folder (looked at ${local}); expected a .jsonl/.json/.parquet file, a folder of split files, or a hub id org/name`);
}

/**
 * The files of `split` under `root`: in `root/<config>` when a config is given, else in `root`,
 * `root/data`, `root/default` or `root/main` (the first that has any).
 */
export function findSplitFiles(root: string, split: string, config?: string): string[] {
  const dirs = config !== undefined ? [join(root, config), join(root, config, "data"), join(root, "data", config)] : [root, join(root, "data"), join(root, "default"), join(root, "main")];
  if (config !== undefined && !isDir(dirs[0]!) && !isDir(dirs[2]!)) {
    const configs = listConfigs(root);
    throw new DatasetNotFoundError(displayPath(root), `no config (subset) folder '${config}' here${configs.length ? `; configs: ${configs.join(", ")}` : ""}`);
  }
  for (const dir of dirs) {
    const files = splitFilesIn(dir, split);
    if (files.length) return files;
  }
  // Configs already searched (default/, main/) are no news.
  const configs = config === undefined ? listConfigs(root).filter((c) => !dirs.includes(join(root, c))) : [];
  const splits = [...new Set(dirs.flatMap((d) => splitNamesIn(d)))];
  const shown = dirs.filter(isDir).map(displayPath);
  throw new DatasetNotFoundError(
    displayPath(root),
    `no files for split '${split}' (looked for ${split}.jsonl, ${split}.json, ${split}.parquet, ${split}-*.parquet and ${split}/ in ${shown.join(", ") || displayPath(root)})` +
      (splits.length ? `; splits found: ${splits.join(", ")}` : "") +
      (configs.length ? `; config (subset) folders: ${configs.join(", ")} (set dataset.config)` : ""),
  );
}

/** Split files directly in `dir` (`train.jsonl`, `train-00000-of-00002.parquet`, `train_x.json`) or in `dir/<split>/`. */
function splitFilesIn(dir: string, split: string): string[] {
  if (!isDir(dir)) return [];
  const names = readdirSync(dir).sort();
  const matching = names.filter((n) => isDataFile(n) && splitOf(n) === split && isFile(join(dir, n)));
  // One format per split: a folder holding both train.jsonl and train.parquet means the same rows twice.
  for (const ext of EXTENSIONS) {
    const group = matching.filter((n) => n.toLowerCase().endsWith(ext));
    if (group.length) return group.map((n) => join(dir, n));
  }
  const sub = join(dir, split);
  if (isDir(sub)) {
    const shards = readdirSync(sub).sort().filter((n) => isDataFile(n) && isFile(join(sub, n)));
    for (const ext of EXTENSIONS) {
      const group = shards.filter((n) => n.toLowerCase().endsWith(ext));
      if (group.length) return group.map((n) => join(sub, n));
    }
  }
  return [];
}

/** `train-00000-of-00001.parquet` → `train`; `test.jsonl` → `test`. */
function splitOf(name: string): string {
  const base = name.replace(/\.(jsonl|json|parquet)$/i, "");
  return /^[^-_.]+/.exec(base)?.[0] ?? base;
}

function splitNamesIn(dir: string): string[] {
  if (!isDir(dir)) return [];
  return readdirSync(dir).flatMap((n) => (isDataFile(n) ? [splitOf(n)] : isDir(join(dir, n)) && splitFilesIn(join(dir, n), n).length ? [n] : []));
}

/** Subfolders holding split files: the dataset's configs (subsets). */
function listConfigs(root: string): string[] {
  if (!isDir(root)) return [];
  return readdirSync(root)
    .filter((n) => !n.startsWith(".") && isDir(join(root, n)) && splitNamesIn(join(root, n)).length > 0 && n !== "data")
    .sort();
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
