/**
 * A custom multi-turn environment: the model answers an arithmetic question; a wrong answer gets
 * one more chance ("Not quite — check your work"), and a right answer on the retry earns less.
 * The final answer is scored with this project's own `ConciseAnswerReward`.
 *
 * The library drives it: `reset(task)` gives the opening messages, `step(turn)` gets each sampled
 * assistant turn and returns what to append, the reward, and whether the episode is over.
 * `forge grpo` constructs one per episode with `environment.options`.
 */
import type { PromptExample } from "torchforge/data";
import type { AssistantTurn, EnvReset, EnvStep, Environment } from "torchforge/envs";
import { ConciseAnswerReward } from "./concise-answer-reward.js";

export interface RetryEnvironmentOptions {
  /** Answers allowed per episode. @default 2 */
  maxTurns?: number;
  /** Reward multiplier for each retry used. @default 0.5 */
  retryDiscount?: number;
}

export class RetryEnvironment implements Environment<PromptExample> {
  readonly #reward = new ConciseAnswerReward();
  readonly #maxTurns: number;
  readonly #retryDiscount: number;
  #task: PromptExample | undefined;
  #turns = 0;

  constructor(options: RetryEnvironmentOptions = {}) {
    this.#maxTurns = options.maxTurns ?? 2;
    this.#retryDiscount = options.retryDiscount ?? 0.5;
  }

  reset(task: PromptExample): EnvReset {
    this.#task = task;
    this.#turns = 0;
    return { messages: [{ role: "user", content: task.prompt }] };
  }

  step(turn: AssistantTurn): EnvStep {
    if (this.#task === undefined) throw new Error("RetryEnvironment.step called before reset(task)");
    this.#turns += 1;
    const score = this.#reward.evaluate(this.#task.prompt, turn.content, this.#task.target);
    const reward = score * this.#retryDiscount ** (this.#turns - 1);
    const info = { turns: this.#turns };
    if (score > 0.5) return { reward, done: true, info };
    if (this.#turns >= this.#maxTurns) return { reward, done: true, truncated: true, info };
    return { messages: [{ role: "user", content: "Not quite. Check your work and answer again." }], done: false, info };
  }
}
