/**
 * Actor-side errors. One class per failure mode, each with a `name`, typed fields and a
 * message built from those fields. Remote failures keep the remote stack, labelled as remote.
 */

/** Where a call went: used to build messages that say which actor and rank failed. */
export interface CallSite {
  actorName: string;
  endpoint: string;
  rank: number;
  pid?: number;
}

function where(site: CallSite): string {
  const pid = site.pid === undefined ? "in-process" : `pid ${site.pid}`;
  return `${site.actorName}.${site.endpoint} (rank ${site.rank}, ${pid})`;
}

/** An endpoint threw. `cause` is the user's error (rebuilt when it came from another process). */
export class ActorError extends Error {
  override name = "ActorError";
  readonly actorName: string;
  readonly endpoint: string;
  readonly rank: number;
  readonly pid: number | undefined;
  /** The remote error's `name` (e.g. "TypeError"). */
  readonly remoteName: string;
  /** The stack as it was in the actor, or undefined when the error was not an Error. */
  readonly remoteStack: string | undefined;

  constructor(site: CallSite, cause: Error) {
    super(`${where(site)} threw ${cause.name}: ${cause.message}`, { cause });
    this.actorName = site.actorName;
    this.endpoint = site.endpoint;
    this.rank = site.rank;
    this.pid = site.pid;
    this.remoteName = cause.name;
    this.remoteStack = cause.stack;
    if (cause.stack !== undefined) {
      const remote = cause.stack
        .split("\n")
        .map((line) => `    [remote] ${line.trim()}`)
        .join("\n");
      this.stack = `${this.stack ?? ""}\n  remote stack (${where(site)}):\n${remote}`;
    }
  }
}

/** The endpoint name is not an `@endpoint` method of the actor class. */
export class UnknownEndpointError extends Error {
  override name = "UnknownEndpointError";
  constructor(
    readonly actorName: string,
    readonly endpoint: string,
    readonly known: readonly string[],
  ) {
    super(
      `${actorName} has no endpoint '${endpoint}' (endpoints: ${known.join(", ") || "none"}); ` +
        `mark the method with @endpoint`,
    );
  }
}

/** An argument or result could not be structured-cloned to send to another process. */
export class SerializationError extends Error {
  override name = "SerializationError";
  constructor(
    readonly actorName: string,
    readonly endpoint: string,
    /** "argument 1", "result", "constructor argument 0", ... */
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(
      `${actorName}.${endpoint}: ${what} cannot be sent to another process (structured clone failed${reason}); ` +
        `pass plain data (no functions, class instances with methods, or sockets)`,
      options,
    );
  }
}

/** `setup()` (or loading/constructing the actor) failed; the mesh was not created. */
export class ActorSetupError extends Error {
  override name = "ActorSetupError";
  constructor(
    readonly actorName: string,
    readonly rank: number,
    cause: Error,
  ) {
    super(`${actorName} rank ${rank} failed in setup: ${cause.name}: ${cause.message}`, { cause });
    if (cause.stack) this.stack = `${this.stack ?? ""}\n  remote stack:\n${cause.stack.replace(/^/gm, "    [remote] ")}`;
  }
}

/** The process hosting an actor died (crash, signal, OOM) or the actor was stopped mid-call. */
export class ActorDiedError extends Error {
  override name = "ActorDiedError";
  constructor(
    readonly actorName: string,
    readonly rank: number,
    readonly pid: number | undefined,
    readonly reason: string,
  ) {
    super(`${actorName} rank ${rank}${pid === undefined ? "" : ` (pid ${pid})`} died: ${reason}`);
  }
}

/** A service had no healthy replica to take a request within its timeout. */
export class ServiceUnavailableError extends Error {
  override name = "ServiceUnavailableError";
  constructor(
    readonly serviceName: string,
    readonly reason: string,
  ) {
    super(`service ${serviceName} is unavailable: ${reason}`);
  }
}

/** The provisioner cannot satisfy a request for processes or GPUs. */
export class InsufficientResourcesError extends Error {
  override name = "InsufficientResourcesError";
  constructor(
    readonly resource: "GPU" | "host",
    readonly asked: number,
    readonly free: number,
  ) {
    super(`Insufficient ${resource} resources: asked for ${asked}, ${free} free`);
  }
}

/** The multi-host cluster (NATS server, host agents) could not be reached or joined. */
export class ClusterError extends Error {
  override name = "ClusterError";
  constructor(message: string, options?: ErrorOptions) {
    super(`NatsCluster: ${message}`, options);
  }
}

/** Too few of the host agents a placement names are alive; the message names the live ones. */
export class HostsUnavailableError extends Error {
  override name = "HostsUnavailableError";
  constructor(
    readonly wanted: readonly string[],
    readonly live: readonly string[],
    readonly needed: number,
  ) {
    const missing = wanted.filter((h) => !live.includes(h));
    super(
      `${needed > 1 ? `fewer than ${needed} of the host agents [${wanted.join(", ")}] are` : `none of the host agents [${wanted.join(", ")}] is`} alive ` +
        `(not answering: ${missing.join(", ") || "none"}; live agents: ${live.join(", ") || "none"}); start one with \`forge agent --nats URL --host NAME\``,
    );
  }
}

/** Launch options were invalid; the message names the option. */
export class ActorOptionsError extends Error {
  override name = "ActorOptionsError";
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`invalid actor option '${option}': ${detail}`);
  }
}
