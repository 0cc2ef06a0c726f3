/**
 * The TCP store server as an actor: launch it anywhere the actor runtime can place a process
 * (`StoreActor.options({ procs: 1 }).asActor()`), ask it for its `address()`, and connect
 * `TcpStoreClient`s to that address. Control calls go through the actor runtime; tensor bytes
 * go over the store's own TCP stream, never through actor messages.
 */
import { Actor, endpoint } from "../actors/index.ts";
import { type StoreAddress, StoreServer, type StoreServerOptions } from "./tcp-store.ts";

export class StoreActor extends Actor {
  static module = import.meta.url;
  #server: StoreServer | undefined;

  /** @param options where to listen; bind "0.0.0.0" to serve other hosts. @default {} (127.0.0.1, a free port) */
  constructor(private readonly options: StoreServerOptions = {}) {
    super();
  }

  override async setup(): Promise<void> {
    this.#server = await StoreServer.listen(this.options);
  }

  override async shutdown(): Promise<void> {
    await this.#server?.close();
  }

  /** Host and port for `TcpStoreClient.connect`. */
  @endpoint async address(): Promise<StoreAddress> {
    return this.#server!.address;
  }

  /** Published keys starting with `prefix`. */
  @endpoint async keys(prefix = ""): Promise<string[]> {
    return this.#server!.store.keys(prefix);
  }

  @endpoint async delete(key: string): Promise<void> {
    await this.#server!.store.delete(key);
  }
}
