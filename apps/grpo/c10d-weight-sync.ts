/**
 * Weights to remote generator replicas by a c10d (Gloo) broadcast, `cluster.weight_sync: c10d`: the
 * controller hosts a c10d TCPStore rendezvous and forms a group of itself (rank 0, the source) and
 * every live replica; a sync is the controller's `publish` while each replica `receive`s into its
 * own parameters. A Gloo group's membership is fixed, so a replica that restarts (or moves to
 * another host) makes the controller form a new group under a new prefix (a generation counter)
 * for all live replicas. Every step is bounded: the rendezvous by `cluster.timeout_s`, each
 * collective by the group's timeout; a failure destroys the group (so peers fail at once too) and
 * the next send forms a new one.
 */
import { freePort } from "../../src/actors/rank-launcher.ts";
import { C10dWeightBroadcaster, WeightBroadcastError, type StateDict } from "../../src/store/index.ts";
import { distributed } from "../../src/torch/index.ts";
import type { GrpoConfig } from "../../src/config/index.ts";
import { storeEndpoints } from "./cluster.ts";
import { GrpoConfigError } from "./errors.ts";

/** What a replica needs to join generation `prefix` of the weight group (`GeneratorActor.joinWeightGroup`). */
export interface WeightGroupJoin {
  host: string;
  port: number;
  prefix: string;
  generation: number;
  worldSize: number;
  timeoutMs: number;
}

/** Some replicas of the group: how many, and how to ask them to join and to receive. */
export interface WeightGroupMembers {
  count(): number;
  join(args: WeightGroupJoin): Promise<unknown>;
  receive(generation: number): Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class C10dWeightSync {
  readonly kind = "c10d" as const;
  readonly host: string;
  readonly port: number;
  readonly #store: distributed.TCPStore;
  readonly #rendezvousMs: number;
  readonly #timeoutMs: number;
  #generation = 0;
  #group: distributed.ProcessGroup | undefined;
  #broadcaster: C10dWeightBroadcaster | undefined;
  /** Replicas in the current group; undefined: none formed, or it must be formed anew. */
  #members: number | undefined;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(store: distributed.TCPStore, host: string, port: number, rendezvousMs: number, timeoutMs: number) {
    this.#store = store;
    this.host = host;
    this.port = port;
    this.#rendezvousMs = rendezvousMs;
    this.#timeoutMs = timeoutMs;
  }

  /** Opens the rendezvous at `cluster.store_bind`/`store_port`, advertised as `store_host`. */
  static async listen(config: GrpoConfig): Promise<C10dWeightSync> {
    const c = config.cluster!;
    const { bind, advertise, port } = storeEndpoints(c);
    const timeoutMs = config.grpo.progressTimeoutS * 1000;
    try {
      // c10d's TCPStore cannot report the port it picked for 0: pick a free one first.
      const p = port === 0 ? await freePort(bind) : port;
      const store = new distributed.TCPStore({ host: bind, port: p, isServer: true, worldSize: 1, timeoutMs });
      return new C10dWeightSync(store, advertise, p, c.timeoutS * 1000, timeoutMs);
    } catch (err) {
      throw new GrpoConfigError(
        `cluster.store_bind/store_port: cannot open the c10d rendezvous on ${bind}:${port} (${(err as Error).message})`,
        { cause: err },
      );
    }
  }

  /** The group must be formed anew before the next send (a replica restarted or moved). */
  invalidate(): void {
    this.#members = undefined;
  }

  /**
   * Sends `stateDict` as `version` to every member (forming a new group first when membership
   * changed, `rebuild` asks for it, or the last transfer failed). Sends are serialized.
   */
  send(version: number, stateDict: StateDict, members: WeightGroupMembers[], options: { rebuild?: boolean } = {}): Promise<void> {
    const run = this.#lock.then(() => this.#send(version, stateDict, members, options.rebuild ?? false));
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #send(version: number, stateDict: StateDict, members: WeightGroupMembers[], rebuild: boolean): Promise<void> {
    const counts = members.map((m) => m.count());
    const total = counts.reduce((a, b) => a + b, 0);
    if (rebuild || this.#members !== total || !this.#broadcaster) await this.#form(stateDict, members, counts);
    if (total === 0) return; // no live replica: each loads the published version when it restarts
    const gen = this.#generation;
    const publish = this.#broadcaster!.publish(version, stateDict);
    const receives = members.map((m, i) => (counts[i] ? m.receive(gen) : undefined));
    // A replica that dies mid-transfer can leave Gloo's send to it pending until the group's
    // timeout (progress_timeout_s): its failed receive ends the send at once instead.
    const memberFailed = new Promise<{ reason: unknown }>((resolve) =>
      receives.forEach((r) => r?.catch((reason: unknown) => resolve({ reason }))),
    );
    const outcome = await Promise.race([Promise.allSettled([publish, ...receives]).then((all) => ({ all })), memberFailed]);
    const failure = "all" in outcome ? (outcome.all.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined) : outcome;
    if (failure) {
      this.#teardown(publish);
      const reason = (failure.reason as Error)?.message ?? String(failure.reason);
      throw new WeightBroadcastError(`weight sync (c10d, group generation ${gen}) of version ${version} failed: ${reason}`, {
        cause: failure.reason,
      });
    }
  }

  async #form(layout: StateDict, members: WeightGroupMembers[], counts: number[]): Promise<void> {
    this.#teardown();
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) {
      this.#members = 0;
      return;
    }
    const generation = ++this.#generation;
    const prefix = `weights-g${generation}`;
    const args: WeightGroupJoin = {
      host: this.host,
      port: this.port,
      prefix,
      generation,
      worldSize: total + 1,
      timeoutMs: this.#timeoutMs,
    };
    let failure: unknown;
    const joins = members.map((m, i) => (counts[i] ? m.join(args) : Promise.resolve()).catch((err) => void (failure ??= err)));
    // Each replica counts itself in, then blocks in the Gloo rendezvous; joining only once all
    // have arrived keeps this process's event loop (IPC, NATS) free until then.
    const deadline = Date.now() + this.#rendezvousMs;
    const what = `c10d weight group generation ${generation} (${total} replicas, rendezvous ${this.host}:${this.port})`;
    for (let arrived = 0; (arrived = this.#store.add(`${prefix}/arrived`, 0)) < total; await sleep(10)) {
      if (failure !== undefined)
        throw new WeightBroadcastError(`${what}: a replica failed to join: ${(failure as Error)?.message ?? failure}`, { cause: failure });
      if (Date.now() > deadline)
        throw new WeightBroadcastError(
          `${what}: ${arrived} of ${total} replicas arrived within ${this.#rendezvousMs} ms (cluster.timeout_s)`,
        );
    }
    try {
      this.#group = distributed.initProcessGroup({
        store: this.#store,
        rank: 0,
        worldSize: total + 1,
        name: prefix,
        timeoutMs: this.#timeoutMs,
        hostname: this.host,
      });
      this.#broadcaster = new C10dWeightBroadcaster(layout, { group: this.#group, name: prefix });
    } catch (err) {
      this.#teardown();
      throw new WeightBroadcastError(`${what}: ${(err as Error).message}`, { cause: err });
    }
    await Promise.all(joins);
    if (failure !== undefined) {
      this.#teardown();
      throw new WeightBroadcastError(`${what}: a replica failed to join: ${(failure as Error)?.message ?? failure}`, { cause: failure });
    }
    this.#members = total;
  }

  /**
   * Drops the current group; the next send forms a new one. With `pending` (a failed send's
   * publish, which Gloo may still hold) the group is destroyed only once that settles:
   * destroying it earlier would block this thread on Gloo's worker until the timeout.
   */
  #teardown(pending?: Promise<void>): void {
    const group = this.#group;
    const broadcaster = this.#broadcaster;
    this.#broadcaster = undefined;
    this.#group = undefined;
    this.#members = undefined;
    const destroy = () => {
      broadcaster?.dispose();
      group?.destroy();
    };
    if (pending) void pending.catch(() => undefined).then(destroy);
    else destroy();
  }

  async close(): Promise<void> {
    await this.#lock;
    this.#teardown();
    this.#store.close();
  }
}
